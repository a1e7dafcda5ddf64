#include "virtq.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* [a, a+len) inside [start, start+size), without overflowing. */
static bool inside(uint64_t a, uint64_t len, uint64_t start, uint64_t size)
{
	return a >= start && a - start <= size && len <= size - (a - start);
}

void *vq_gpa_to_host(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++)
		if (inside(gpa, len, m->r[i].gpa, m->r[i].size))
			return m->r[i].host + (gpa - m->r[i].gpa);
	return NULL;
}

void *vq_uva_to_host(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++)
		if (inside(uva, len, m->r[i].uva, m->r[i].size))
			return m->r[i].host + (uva - m->r[i].uva);
	return NULL;
}

__attribute__((format(printf, 2, 3)))
static int broke(struct vq *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	q->broken = true;
	return -1;
}

bool vq_map_rings(struct vq *q, const struct vq_mem *m)
{
	uint64_t n = q->num;
	q->desc = vq_uva_to_host(m, q->desc_uva, 16 * n);
	/* flags, idx, ring[n], used_event / flags, idx, ring[n], avail_event */
	q->avail = vq_uva_to_host(m, q->avail_uva, 4 + 2 * n + 2);
	q->used = vq_uva_to_host(m, q->used_uva, 4 + 8 * n + 2);
	/* The spec's alignments; we read these fields with single loads. */
	if (!q->desc || !q->avail || !q->used || (uintptr_t)q->desc % 16 ||
	    (uintptr_t)q->avail % 2 || (uintptr_t)q->used % 4) {
		q->desc = NULL, q->avail = NULL, q->used = NULL;
		broke(q, "rings of a %u-entry queue outside guest memory or unaligned", q->num);
		return false;
	}
	/* Where the guest's driver already is (a restart resumes there). */
	q->used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	return true;
}

/* Append the guest buffer [gpa, gpa+len) to iov[*n], split at region ends. */
static bool map_buf(const struct vq_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov,
		    unsigned *n)
{
	while (len > 0) {
		const struct vq_region *r = NULL;
		for (unsigned i = 0; i < m->n && !r; i++)
			if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size)
				r = &m->r[i];
		if (!r || *n >= VQ_MAX_SEGS)
			return false;
		uint64_t room = r->size - (gpa - r->gpa);
		uint32_t chunk = room < len ? (uint32_t)room : len;
		iov[(*n)++] = (struct iovec){ r->host + (gpa - r->gpa), chunk };
		gpa += chunk;
		len -= chunk;
	}
	return true;
}

static void read_desc(const struct vring_desc *table, unsigned i, struct vring_desc *d)
{
	/* One snapshot; the guest may rewrite the slot behind us. */
	d->addr = __atomic_load_n(&table[i].addr, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&table[i].len, __ATOMIC_RELAXED);
	d->flags = __atomic_load_n(&table[i].flags, __ATOMIC_RELAXED);
	d->next = __atomic_load_n(&table[i].next, __ATOMIC_RELAXED);
}

int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_elem *e)
{
	if (q->broken)
		return -1;
	if (!q->desc)
		return 0;
	uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num)
		return broke(q, "avail index ran %u entries ahead of a %u-entry queue", pending, q->num);
	uint16_t head = __atomic_load_n(&q->avail->ring[q->last_avail % q->num], __ATOMIC_RELAXED);
	q->last_avail++;
	return vq_walk(q, m, head, e);
}

int vq_walk(struct vq *q, const struct vq_mem *m, uint16_t head, struct vq_elem *e)
{
	if (q->broken)
		return -1;
	if (!q->desc || head >= q->num)
		return broke(q, "avail ring names descriptor %u of %u", head, q->num);
	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	const struct vring_desc *table = q->desc;
	unsigned size = q->num, i = head, steps = 0;
	bool indirect = false;
	for (;;) {
		struct vring_desc d;
		/* A chain visits each descriptor of its table at most once: any
		 * more and it loops. */
		if (++steps > size)
			return broke(q, "descriptor chain from %u longer than its table (%u)", head, size);
		read_desc(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!q->indirect || indirect || (d.flags & VRING_DESC_F_NEXT))
				return broke(q, "bad indirect descriptor in the chain from %u", head);
			if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
			    d.len / sizeof(struct vring_desc) > VQ_MAX_NUM)
				return broke(q, "indirect table of %u bytes (chain from %u)", d.len, head);
			table = vq_gpa_to_host(m, d.addr, d.len);
			if (!table || (uintptr_t)table % 16)
				return broke(q, "indirect table outside guest memory or unaligned (chain from %u)",
					     head);
			size = d.len / sizeof(struct vring_desc);
			i = 0, steps = 0, indirect = true;
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE) {
			if (!map_buf(m, d.addr, d.len, e->in, &e->nin))
				return broke(q, "writable buffer of %u bytes outside guest memory (chain from %u)",
					     d.len, head);
			e->in_len += d.len;
		} else {
			/* The spec puts every readable buffer before the writable ones. */
			if (e->nin)
				return broke(q, "readable buffer after a writable one (chain from %u)", head);
			if (!map_buf(m, d.addr, d.len, e->out, &e->nout))
				return broke(q, "readable buffer of %u bytes outside guest memory (chain from %u)",
					     d.len, head);
			e->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		i = d.next;
		if (i >= size)
			return broke(q, "descriptor %u points past its table of %u", i, size);
	}
}

void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	if (!q->used)
		return;
	struct vring_used_elem *u = &q->used->ring[q->used_idx % q->num];
	__atomic_store_n(&u->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, len, __ATOMIC_RELAXED);
	q->used_idx++;
	/* The element before the index that publishes it. */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

bool vq_wants_interrupt(const struct vq *q)
{
	if (!q->avail)
		return false;
	/* Our used->idx store before the read of the guest's flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
}

size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t c = l - skip < len - done ? l - skip : len - done;
		memcpy((char *)buf + done, (const char *)iov[i].iov_base + skip, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t vq_iov_to_iov(const struct iovec *dst, unsigned ndst, const struct iovec *src, unsigned nsrc)
{
	size_t done = 0;
	unsigned d = 0;
	size_t doff = 0;
	for (unsigned i = 0; i < nsrc && d < ndst; i++) {
		size_t soff = 0;
		while (soff < src[i].iov_len && d < ndst) {
			size_t room = dst[d].iov_len - doff, left = src[i].iov_len - soff;
			size_t c = room < left ? room : left;
			memcpy((char *)dst[d].iov_base + doff, (const char *)src[i].iov_base + soff, c);
			done += c, soff += c, doff += c;
			if (doff == dst[d].iov_len)
				d++, doff = 0;
		}
	}
	return done;
}

size_t vq_buf_to_iov(const struct iovec *iov, unsigned n, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t c = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(iov[i].iov_base, (const char *)buf + done, c);
		done += c;
	}
	return done;
}
