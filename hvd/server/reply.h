/* Replies to hvd requests (frame.h VJ_REPLY_OK / VJ_REPLY_ERR), one way for
 * every request handler. */
#ifndef HV_REPLY_H
#define HV_REPLY_H

#include <stdint.h>

#include "kv.h"

/* Send kv as the reply and free it; a kv that ran out of memory while being
 * built goes out as ERR "out of memory" instead of a truncated OK. */
void hv_reply(int fd, uint16_t type, struct vj_kvbuf *kv);
/* ERR with msg: the one line the client shows its user. */
void hv_reply_err(int fd, const char *msg);
/* OK with no fields. */
void hv_reply_ok(int fd);

#endif
