/* A byte queue in front of a non-blocking fd: bytes for a reader that may be
 * slow (a child's stdin in the guest agent, a client of the VM's relay on the
 * host). The caller bounds its length; nothing here ever blocks. */
#ifndef VJ_IOQ_H
#define VJ_IOQ_H

#include <stddef.h>
#include <stdint.h>

struct ioq {
	uint8_t *buf;
	size_t off, len, cap; /* pending bytes are buf[off .. off+len) */
};
/* Append n bytes: 0, or -1 out of memory (the queue is unchanged). */
int ioq_push(struct ioq *q, const void *data, size_t n);
/* Write what the fd takes without blocking: 0, or -1 if the fd refuses
 * (its reader is gone); callers only drop the queue then. */
int ioq_flush(struct ioq *q, int fd);
void ioq_free(struct ioq *q);

#endif
