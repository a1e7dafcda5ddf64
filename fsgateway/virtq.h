/* Guest memory and split virtqueues, as a vhost-user backend sees them:
 * QEMU hands us the guest's RAM (memfds we map) and the addresses of each
 * queue's rings, and the guest fills the rings. Everything in the rings is
 * written by the guest while we read it, so every index, address and length
 * is copied once, checked, and only then used. Pure memory code (no fds, no
 * syscalls), so the fuzzer drives it over a buffer. */
#ifndef FSGW_VIRTQ_H
#define FSGW_VIRTQ_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_REGIONS 8     /* vhost-user SET_MEM_TABLE without mem slots */
#define VQ_MAX_NUM 1024u     /* largest queue we accept (QEMU's maximum) */
/* Segments one chain may map to: a chain is at most VQ_MAX_NUM descriptors
 * (the spec bounds it by the queue size) and a descriptor crossing a region
 * boundary takes one more; beyond this the chain is refused. */
#define VQ_MAX_SEGS (VQ_MAX_NUM + 64u)

struct vq_region {
	uint64_t gpa, size, uva; /* guest-physical and QEMU-virtual starts */
	uint8_t *host;           /* where the region starts in our mapping */
	void *map;               /* what to munmap (NULL: not ours, e.g. fuzzer) */
	size_t map_len;
};

struct vq_mem {
	unsigned n;
	struct vq_region r[VQ_MAX_REGIONS];
	uint32_t gen; /* bumped on every new table: stale pointers are detectable */
};

/* Host pointer for [addr, addr+len) if it lies inside one region, else NULL. */
void *vq_gpa_to_host(const struct vq_mem *m, uint64_t gpa, uint64_t len);
void *vq_uva_to_host(const struct vq_mem *m, uint64_t uva, uint64_t len);

struct vq {
	uint16_t num;            /* queue size, 0 = not configured */
	bool addr_set, enabled, started, broken;
	bool reported;           /* its breakage is in the log already */
	bool indirect;           /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_uva, avail_uva, used_uva;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;     /* next avail entry we will take */
	uint16_t used_idx;       /* next used entry we will fill */
	int kick, call;          /* eventfds, -1 when absent */
	char why[160];           /* what broke it, for the one log line */
};

/* One request taken off a queue: out = device-readable (the request),
 * in = device-writable (room for the reply). */
struct vq_elem {
	uint16_t head;
	unsigned nout, nin;
	size_t out_len, in_len;
	struct iovec out[VQ_MAX_SEGS];
	struct iovec in[VQ_MAX_SEGS];
};

/* Point q at its rings in m (after SET_VRING_NUM/ADDR or a new memory
 * table). Returns false (q->why set) if they do not fit in guest memory. */
bool vq_map_rings(struct vq *q, const struct vq_mem *m);

/* Take the next request: 1 = e filled, 0 = none pending, -1 = the guest
 * broke the queue (q->broken, q->why); a broken queue stays broken. */
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_elem *e);

/* The chain starting at head into e (what vq_pop does after taking head
 * off the avail ring; also used to answer a request another process took).
 * 1 = e filled, -1 = broken. */
int vq_walk(struct vq *q, const struct vq_mem *m, uint16_t head, struct vq_elem *e);

/* Hand a request back with len bytes written into its in part. */
void vq_push(struct vq *q, uint16_t head, uint32_t len);

/* After pushing: does the guest want an interrupt? */
bool vq_wants_interrupt(const struct vq *q);

/* Copy between a flat buffer and a segment list; return bytes copied. */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t vq_buf_to_iov(const struct iovec *iov, unsigned n, const void *buf, size_t len);
size_t vq_iov_to_iov(const struct iovec *dst, unsigned ndst, const struct iovec *src, unsigned nsrc);

#endif
