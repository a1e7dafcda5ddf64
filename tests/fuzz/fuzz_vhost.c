/* Fuzz the virtio-fs transport's parsers: the split virtqueue walker
 * (descriptor chains, indirect tables, ring indexes, all written by the
 * guest) over a guest memory made of fuzz bytes, and the vhost-user
 * message handler (QEMU's side) over a stream of messages. Every segment
 * vq_pop hands out must lie inside guest memory; ASan/UBSan catch the rest.
 *
 * Input: 12 bytes of queue setup (size, features, ring offsets, start
 * index, memory length), that much guest memory (up to 64 KiB), then
 * vhost-user messages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user.h"
#include "virtq.h"

#define MEM_SIZE (64u * 1024u)
#define GPA 0x100000u
#define UVA 0x7f0000000000ull

static uint8_t mem[MEM_SIZE];

static void check_segs(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;
		if (b < mem || b > mem + MEM_SIZE || iov[i].iov_len > (size_t)(mem + MEM_SIZE - b))
			abort();
	}
}

static void fuzz_queue(const uint8_t *d)
{
	static struct vq_elem e;
	struct vq_mem m = { .n = 1, .r[0] = { .gpa = GPA, .size = MEM_SIZE, .uva = UVA, .host = mem } };
	struct vq q = { .num = (uint16_t)(1u << (d[0] % 11)), .indirect = d[1] & 1, .kick = -1, .call = -1 };
	q.desc_uva = UVA + (uint64_t)(d[2] | d[3] << 8) * 16 % MEM_SIZE;
	q.avail_uva = UVA + (uint64_t)(d[4] | d[5] << 8) * 2 % MEM_SIZE;
	q.used_uva = UVA + (uint64_t)(d[6] | d[7] << 8) * 4 % MEM_SIZE;
	q.last_avail = (uint16_t)(d[8] | d[9] << 8);
	if (!vq_map_rings(&q, &m))
		return;
	for (int i = 0; i < 64; i++) {
		int r = vq_pop(&q, &m, &e);
		if (r <= 0)
			break;
		if (e.nout > VQ_MAX_SEGS || e.nin > VQ_MAX_SEGS)
			abort();
		check_segs(e.out, e.nout);
		check_segs(e.in, e.nin);
		uint8_t scratch[256];
		vq_iov_to_buf(e.out, e.nout, 40, scratch, sizeof(scratch));
		vq_buf_to_iov(e.in, e.nin, scratch, sizeof(scratch));
		vq_push(&q, e.head, (uint32_t)e.in_len);
		(void)vq_wants_interrupt(&q);
	}
}

static void fuzz_messages(const uint8_t *d, size_t n)
{
	struct vu_dev *dev = malloc(sizeof(*dev));
	if (!dev)
		return;
	vu_init(dev);
	while (n >= VU_HDR) {
		struct vu_msg m, reply;
		memcpy(&m, d, VU_HDR);
		d += VU_HDR, n -= VU_HDR;
		if (m.size > VU_MAX_PAYLOAD || m.size > n)
			break;
		memcpy(m.p.bytes, d, m.size);
		d += m.size, n -= m.size;
		int fds[VU_MAX_FDS];
		struct vj_err err;
		/* No fds: a memory table never maps, the rest is plain parsing. */
		if (vu_handle(dev, &m, fds, 0, &reply, &err) > 0 && reply.size > VU_MAX_PAYLOAD)
			abort();
	}
	vu_free(dev);
	free(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 12)
		return 0;
	size_t memlen = (size_t)(data[10] | data[11] << 8) * 2;
	if (memlen > size - 12)
		memlen = size - 12;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 12, memlen);
	fuzz_queue(data);
	fuzz_messages(data + 12 + memlen, size - 12 - memlen);
	return 0;
}
