/* The vhost-user control protocol, backend side, as much of it as a
 * virtio-fs device needs (QEMU's docs/interop/vhost-user.rst): features,
 * the guest memory table, and each queue's size, rings and eventfds. The
 * peer is QEMU, not the guest, but it is still parsed defensively: sizes
 * are checked against each request before a field is read. */
#ifndef FSGW_VHOST_USER_H
#define FSGW_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "virtq.h"

/* hiprio + request queues QEMU may configure (num-request-queues <= 7). */
#define VU_MAX_QUEUES 8
#define VU_MAX_FDS 8
#define VU_MAX_PAYLOAD 512
#define VU_HDR 12u

struct vu_msg {
	uint32_t request, flags, size;
	union {
		uint64_t u64;
		uint8_t bytes[VU_MAX_PAYLOAD];
	} p;
};

struct vu_dev {
	uint64_t features;        /* what QEMU acked */
	uint64_t protocol;        /* protocol features QEMU acked */
	struct vq_mem mem;
	struct vq q[VU_MAX_QUEUES];
	char unsupported[64];     /* requests we logged as unknown (once each) */
};

void vu_init(struct vu_dev *d);
/* Unmap the memory table, close every eventfd. */
void vu_free(struct vu_dev *d);

/* Handle one message with the fds that came with it (always consumed:
 * kept or closed). Returns 1 if *reply must be sent, 0 if not, -1 on a
 * protocol error (err says what; the connection should be closed). */
int vu_handle(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds,
	      struct vu_msg *reply, struct vj_err *err);

/* Read one message from the socket (blocking). 1 = got it, 0 = EOF,
 * -1 = error (err). fds gets what came along, *nfds its count. */
int vu_recv(int sock, struct vu_msg *m, int *fds, unsigned *nfds, struct vj_err *err);
int vu_send(int sock, const struct vu_msg *m);
/* After pushing to q: interrupt the guest through its call eventfd, unless
 * it asked not to be. */
void vu_notify(struct vq *q);
/* After vq_pop failed: say once, in the log, what the guest broke. */
void vu_report_broken(struct vq *q, unsigned index);
/* Messages the bridge forwards to the server (the rest it answers alone). */
bool vu_forwarded(uint32_t request);
/* vhost-user framing with fds (what the bridge forwards with). */
int vu_send_fds(int sock, const struct vu_msg *m, const int *fds, unsigned nfds);
/* Strip NEED_REPLY: the bridge answers QEMU; the server answers only what
 * the bridge waits for (GET_VRING_BASE). */
void vu_no_ack(struct vu_msg *m);
/* Is this a request whose reply the bridge must take from the server? */
bool vu_server_replies(uint32_t request);


#endif
