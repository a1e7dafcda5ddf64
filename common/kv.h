/* Key/value payload codec for control frames (frame.h). Binary-safe:
 *   repeated { u16 keylen | u32 vallen | key bytes | value bytes }  (LE)
 * Keys may repeat (arg, env, group...): order is preserved. The reader
 * rejects truncated entries and never reads past the payload: everything a
 * guest or a local user sends goes through here. */
#ifndef VJ_KV_H
#define VJ_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct vj_kvbuf {
	uint8_t *data;
	size_t len, cap;
	bool oom; /* sticky: set if any add failed; check once at the end */
};

/* An empty buffer; vj_kv_init() makes the same. */
#define VJ_KV_INIT {0}
void vj_kv_init(struct vj_kvbuf *b);
void vj_kv_free(struct vj_kvbuf *b);
void vj_kv_add(struct vj_kvbuf *b, const char *key, const void *val, size_t vlen);
void vj_kv_add_str(struct vj_kvbuf *b, const char *key, const char *val);
void vj_kv_add_fmt(struct vj_kvbuf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vj_kv_add_u64(struct vj_kvbuf *b, const char *key, uint64_t v);

struct vj_kv_iter {
	const uint8_t *p, *end;
};
struct vj_kv_entry {
	const char *key; /* NOT NUL-terminated */
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};

void vj_kv_iter_init(struct vj_kv_iter *it, const void *payload, size_t len);
/* 1 = entry, 0 = end, -1 = malformed payload. */
int vj_kv_next(struct vj_kv_iter *it, struct vj_kv_entry *e);
bool vj_kv_key_is(const struct vj_kv_entry *e, const char *key);

/* Check the whole payload is well-formed. 0 or -1 with err set. */
int vj_kv_validate(const void *payload, size_t len, struct vj_err *err);

/* First value of key, as a C string: fails (-1, err set) if missing (unless
 * dflt != NULL), longer than outsz-1, or containing a NUL byte. */
int vj_kv_get_str(const void *payload, size_t len, const char *key, char *out, size_t outsz,
		  const char *dflt, struct vj_err *err);
/* First value of key as a decimal integer within [min,max]. Missing: uses
 * *out as the default when has_default, else an error. */
int vj_kv_get_u64(const void *payload, size_t len, const char *key, uint64_t min, uint64_t max,
		  bool has_default, uint64_t *out, struct vj_err *err);
/* Count entries with this key (-1 if malformed). */
long vj_kv_count(const void *payload, size_t len, const char *key);
/* Collect all values of key into a NULL-terminated malloc'd array of
 * malloc'd strings (NUL bytes inside a value are rejected). max bounds the
 * number accepted. Free with vj_strv_free. */
int vj_kv_get_strv(const void *payload, size_t len, const char *key, size_t max, char ***out,
		   struct vj_err *err);
void vj_strv_free(char **v);

#endif
