/* The virtio-fs transport's two processes (see bridge.h for why two):
 * the FUSE server serves the virtqueues itself, through libfuse's custom
 * I/O (vq_io.c), like virtiofsd does; the bridge holds QEMU's vhost-user
 * connection, forwards each control message to the server, and if the
 * server dies, finishes its request and answers every later one with EIO.
 * What the bridge needs for that, the server keeps in a shared page. */
#ifndef FSGW_VQSERVE_H
#define FSGW_VQSERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vhost_user.h"

/* Written by the server only, read by the bridge only after the server is
 * dead. The server takes one request at a time, so one in flight per queue
 * at most (it finishes a request before it takes the next). */
struct vq_shared {
	struct {
		uint16_t last_avail;    /* next avail entry the server takes */
		uint16_t inflight_used; /* used index when it took inflight_head */
		int32_t inflight_head;  /* the request it is serving, -1: none */
	} q[VU_MAX_QUEUES];
};

/* Server side: the state behind fsgw_vq_read/writev. */
struct fsgw_vqio {
	struct vu_dev dev;       /* its own view: messages the bridge forwards */
	int ctl;                 /* from the bridge */
	struct vq_shared *sh;
	int cur;                 /* queue of the request libfuse holds, -1 none */
	unsigned next;           /* round robin over the queues */
	struct vq_elem e;        /* the request libfuse holds */
};

/* Write a FUSE error reply (header only) into e's writable buffers;
 * returns the bytes written, for vq_push. */
size_t fsgw_vq_error_reply(const struct vq_elem *e, uint64_t unique, int err);

/* libfuse custom I/O over the queues (session userdata: struct fsgw *). */
ssize_t fsgw_vq_read(int fd, void *buf, size_t len, void *fsgw);
ssize_t fsgw_vq_writev(int fd, struct iovec *iov, int count, void *fsgw);

/* Tell the bridge the export is open and the session made: it then puts
 * the socket in place (vhost_start.c). One byte, before any message. */
int fsgw_vq_ready(struct fsgw_vqio *x);

#endif
