/* The gate between the guest and libfuse: every FUSE request the guest sends
 * is checked here before libfuse 3.14's dispatcher (which trusts its input)
 * sees it. Pure function of the bytes and a little session state, so the
 * fuzzer can drive it without a filesystem. */
#ifndef FSGW_VALIDATE_H
#define FSGW_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Hard ceiling on a request (256 pages + 4 KiB). The framer also holds
 * every request to the buffer libfuse hands it (its bufsize; max_write is
 * negotiated below that), so a legal WRITE always fits. */
#define FSGW_MAX_MSG (256u * 4096u + 4096u)
#define FSGW_IN_HDR 40u   /* sizeof(struct fuse_in_header) */
#define FSGW_OUT_HDR 16u  /* sizeof(struct fuse_out_header) */

enum fsgw_verdict {
	FSGW_PASS,   /* hand to libfuse */
	FSGW_REPLY,  /* answer with -err ourselves, libfuse never sees it */
	FSGW_DROP,   /* malformed request that expects no reply (FORGET) */
};

struct fsgw_vstate {
	bool got_init;
	uint32_t uid, gid;  /* written over the guest's claimed identity */
};

/* msg/len: one whole request whose header length already equals len and
 * len >= FSGW_IN_HDR (the framer guarantees that). May rewrite the header's
 * uid/gid/pid. On FSGW_REPLY, *err is a positive errno. */
enum fsgw_verdict fsgw_validate(struct fsgw_vstate *st, void *msg, size_t len, int *err);

/* FORGET-like opcodes: the guest waits for no reply (and must get none). */
bool fsgw_no_reply(uint32_t opcode);

/* A name the host may resolve in one step: 1..255 bytes, no '/', not "." or
 * "..". Exposed for the ops, which re-check what they use. */
bool fsgw_safe_name(const char *s, size_t n);

#endif
