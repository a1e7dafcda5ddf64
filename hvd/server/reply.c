#include "reply.h"

#include "frame.h"

void hv_reply(int fd, uint16_t type, struct vj_kvbuf *kv)
{
	if (kv->oom) {
		vj_kv_free(kv);
		vj_kv_init(kv);
		vj_kv_add_str(kv, "msg", "out of memory");
		type = VJ_REPLY_ERR;
	}
	/* A client that went away is not an error worth more than its own log. */
	(void)vj_frame_write(fd, type, 0, kv->data, kv->len, NULL);
	vj_kv_free(kv);
}

void hv_reply_err(int fd, const char *msg)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "msg", msg);
	hv_reply(fd, VJ_REPLY_ERR, &kv);
}

void hv_reply_ok(int fd)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	hv_reply(fd, VJ_REPLY_OK, &kv);
}
