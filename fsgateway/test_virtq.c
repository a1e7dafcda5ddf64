/* Unit tests for the virtio-fs transport's guest-facing parsing: what the
 * ring walker accepts and refuses (a guest writes the rings), and how the
 * vhost-user handler configures queues. The guest memory is a buffer here. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "vhost_user.h"
#include "virtq.h"

#define GPA 0x40000u
#define UVA 0x7f0000000000ull
#define MEM 65536u
#define NUM 8u
/* Layout inside guest memory: descriptor table, avail, used, buffers. */
#define DESC 0u
#define AVAIL 1024u
#define USED 2048u
#define BUF 8192u

static _Alignas(4096) unsigned char mem[MEM];
static struct vq_elem e;

static struct vq_mem guest(void)
{
	struct vq_mem m = { .n = 1, .r[0] = { .gpa = GPA, .size = MEM, .uva = UVA, .host = mem } };
	return m;
}

static struct vring_desc *desc(unsigned i)
{
	return (struct vring_desc *)(void *)(mem + DESC) + i;
}

static void set_desc(unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(i) = (struct vring_desc){ gpa, len, flags, next };
}

static void offer(struct vq *q, uint16_t head)
{
	struct vring_avail *a = (void *)(mem + AVAIL);
	a->ring[a->idx % q->num] = head;
	a->idx++;
}

static struct vq queue(const struct vq_mem *m, bool indirect)
{
	memset(mem, 0, sizeof(mem));
	struct vq q = { .num = NUM, .desc_uva = UVA + DESC, .avail_uva = UVA + AVAIL,
			.used_uva = UVA + USED, .indirect = indirect, .kick = -1, .call = -1 };
	CHECK(vq_map_rings(&q, m));
	return q;
}

static void test_chain(void)
{
	struct vq_mem m = guest();
	struct vq q = queue(&m, false);
	CHECK(vq_pop(&q, &m, &e) == 0); /* nothing offered */
	set_desc(0, GPA + BUF, 40, VRING_DESC_F_NEXT, 3);
	set_desc(3, GPA + BUF + 64, 100, VRING_DESC_F_NEXT, 5);
	set_desc(5, GPA + BUF + 512, 200, VRING_DESC_F_WRITE, 0);
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == 1);
	CHECK(e.head == 0 && e.nout == 2 && e.nin == 1);
	CHECK(e.out_len == 140 && e.in_len == 200);
	CHECK(e.out[0].iov_base == mem + BUF && e.in[0].iov_base == mem + BUF + 512);
	vq_push(&q, e.head, 16);
	struct vring_used *u = (void *)(mem + USED);
	CHECK(u->idx == 1 && u->ring[0].id == 0 && u->ring[0].len == 16);
	CHECK(vq_pop(&q, &m, &e) == 0);
}

static void test_refusals(void)
{
	struct vq_mem m = guest();
	struct vq q = queue(&m, false);
	set_desc(0, GPA + BUF, 40, VRING_DESC_F_NEXT, 1); /* 0 -> 1 -> 0 ... */
	set_desc(1, GPA + BUF, 40, VRING_DESC_F_NEXT, 0);
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == -1 && q.broken && strstr(q.why, "longer"));
	CHECK(vq_pop(&q, &m, &e) == -1); /* stays broken */

	q = queue(&m, false);
	set_desc(0, GPA + MEM - 8, 40, 0, 0); /* runs off the end of guest memory */
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == -1 && strstr(q.why, "outside"));

	q = queue(&m, false);
	set_desc(0, GPA + BUF, 40, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, GPA + BUF, 40, 0, 0); /* readable after writable */
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == -1 && strstr(q.why, "after a writable"));

	q = queue(&m, false);
	offer(&q, NUM); /* no such descriptor */
	CHECK(vq_pop(&q, &m, &e) == -1);

	q = queue(&m, false);
	((struct vring_avail *)(void *)(mem + AVAIL))->idx = NUM + 1; /* more than the queue holds */
	CHECK(vq_pop(&q, &m, &e) == -1 && strstr(q.why, "ahead"));

	q = queue(&m, false);
	set_desc(0, GPA + BUF, 32, VRING_DESC_F_INDIRECT, 0); /* indirect not negotiated */
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == -1 && strstr(q.why, "indirect"));

	/* Rings that do not fit, or are misaligned, are refused up front. */
	q = (struct vq){ .num = NUM, .desc_uva = UVA + MEM - 16, .avail_uva = UVA + AVAIL,
			 .used_uva = UVA + USED };
	CHECK(!vq_map_rings(&q, &m));
	q = (struct vq){ .num = NUM, .desc_uva = UVA + 8, .avail_uva = UVA + AVAIL, .used_uva = UVA + USED };
	CHECK(!vq_map_rings(&q, &m));
}

static void test_indirect(void)
{
	struct vq_mem m = guest();
	struct vq q = queue(&m, true);
	struct vring_desc *t = (void *)(mem + 4096);
	t[0] = (struct vring_desc){ GPA + BUF, 40, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ GPA + BUF + 4096, 4096, VRING_DESC_F_WRITE, 0 };
	set_desc(2, GPA + 4096, 2 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	offer(&q, 2);
	CHECK(vq_pop(&q, &m, &e) == 1 && e.head == 2 && e.out_len == 40 && e.in_len == 4096);

	t[1].flags |= VRING_DESC_F_NEXT; /* an indirect table must not loop out */
	t[1].next = 0;
	offer(&q, 2);
	CHECK(vq_pop(&q, &m, &e) == -1);

	q = queue(&m, true);
	t[0] = (struct vring_desc){ GPA + 4096, 16, VRING_DESC_F_INDIRECT, 0 }; /* nested */
	set_desc(2, GPA + 4096, sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	offer(&q, 2);
	CHECK(vq_pop(&q, &m, &e) == -1);
}

/* A descriptor that spans two adjacent regions maps to two segments. */
static void test_regions(void)
{
	struct vq_mem m = { .n = 2,
			    .r = { { .gpa = GPA, .size = MEM / 2, .uva = UVA, .host = mem },
				   { .gpa = GPA + MEM / 2, .size = MEM / 2, .uva = UVA + MEM / 2,
				     .host = mem + MEM / 2 } } };
	struct vq q = queue(&m, false);
	set_desc(0, GPA + MEM / 2 - 100, 300, 0, 0);
	offer(&q, 0);
	CHECK(vq_pop(&q, &m, &e) == 1 && e.nout == 2 && e.out[0].iov_len == 100 &&
	      e.out[1].iov_len == 200 && e.out[1].iov_base == mem + MEM / 2);
}

static void test_copies(void)
{
	char a[4] = "abc", b[5] = "defg", out[16] = { 0 };
	struct iovec src[2] = { { a, 3 }, { b, 4 } };
	CHECK(vq_iov_to_buf(src, 2, 2, out, sizeof(out)) == 5 && !memcmp(out, "cdefg", 5));
	char d1[2], d2[10];
	struct iovec dst[2] = { { d1, 2 }, { d2, 10 } };
	CHECK(vq_iov_to_iov(dst, 2, src, 2) == 7 && !memcmp(d1, "ab", 2) && !memcmp(d2, "cdefg", 5));
	CHECK(vq_buf_to_iov(dst, 1, "xyz", 3) == 2); /* never past the room given */
}

static int handle(struct vu_dev *d, uint32_t req, const void *p, uint32_t size, struct vu_msg *reply)
{
	struct vu_msg m = { .request = req, .flags = 1, .size = size };
	if (size)
		memcpy(m.p.bytes, p, size);
	struct vj_err err;
	return vu_handle(d, &m, NULL, 0, reply, &err);
}

static void test_vhost_user(void)
{
	struct vu_dev d;
	struct vu_msg r;
	vu_init(&d);
	CHECK(handle(&d, 1, NULL, 0, &r) == 1 && r.size == 8 && (r.p.u64 & (1ull << 32))); /* GET_FEATURES */
	uint64_t f = (1ull << 32) | (1ull << 28) | (1ull << 30) | (1ull << 29);
	CHECK(handle(&d, 2, &f, 8, &r) == 0 && d.features == ((1ull << 32) | (1ull << 28) | (1ull << 30)));
	CHECK(d.q[1].indirect); /* and never event idx, which we do not offer */
	uint32_t st[2] = { 1, 1000 };
	CHECK(handle(&d, 8, st, 8, &r) == -1); /* not a power of two */
	st[1] = 2048;
	CHECK(handle(&d, 8, st, 8, &r) == -1); /* bigger than we take */
	st[1] = 256;
	CHECK(handle(&d, 8, st, 8, &r) == 0 && d.q[1].num == 256);
	st[0] = VU_MAX_QUEUES;
	CHECK(handle(&d, 8, st, 8, &r) == -1); /* no such queue */
	CHECK(handle(&d, 8, st, 4, &r) == -1); /* short */
	uint32_t mt[2] = { 1, 0 };
	CHECK(handle(&d, 5, mt, 8, &r) == -1); /* a memory table without its fd */
	st[0] = 1, st[1] = 7;
	CHECK(handle(&d, 10, st, 8, &r) == 0 && d.q[1].last_avail == 7); /* SET_VRING_BASE */
	CHECK(handle(&d, 11, st, 8, &r) == 1 && r.size == 8 && !d.q[1].started); /* GET_VRING_BASE */
	CHECK(memcmp(r.p.bytes + 4, &(uint32_t){ 7 }, 4) == 0);
	uint64_t kick = 1 | 0x100; /* NOFD: polling, which we do not do */
	CHECK(handle(&d, 12, &kick, 8, &r) == -1);
	vu_free(&d);
}

int main(void)
{
	test_chain();
	test_refusals();
	test_indirect();
	test_regions();
	test_copies();
	test_vhost_user();
	return CHECK_DONE();
}
