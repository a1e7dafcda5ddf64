#include "kv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vj_kv_init(struct vj_kvbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void vj_kv_free(struct vj_kvbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void vj_kv_add(struct vj_kvbuf *b, const char *key, const void *val, size_t vlen)
{
	size_t klen = strlen(key);
	if (b->oom || klen > UINT16_MAX || vlen > UINT32_MAX) {
		b->oom = true;
		return;
	}
	size_t need = b->len + 6 + klen + vlen;
	if (need > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < need)
			ncap *= 2;
		uint8_t *nd = realloc(b->data, ncap);
		if (!nd) {
			b->oom = true;
			return;
		}
		b->data = nd;
		b->cap = ncap;
	}
	uint8_t *p = b->data + b->len;
	p[0] = klen;
	p[1] = klen >> 8;
	p[2] = vlen;
	p[3] = vlen >> 8;
	p[4] = vlen >> 16;
	p[5] = vlen >> 24;
	memcpy(p + 6, key, klen);
	if (vlen)
		memcpy(p + 6 + klen, val, vlen);
	b->len = need;
}

void vj_kv_add_str(struct vj_kvbuf *b, const char *key, const char *val)
{
	vj_kv_add(b, key, val, strlen(val));
}

void vj_kv_add_fmt(struct vj_kvbuf *b, const char *key, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true;
		return;
	}
	vj_kv_add(b, key, tmp, (size_t)n);
}

void vj_kv_add_u64(struct vj_kvbuf *b, const char *key, uint64_t v)
{
	vj_kv_add_fmt(b, key, "%" PRIu64, v);
}

void vj_kv_iter_init(struct vj_kv_iter *it, const void *payload, size_t len)
{
	it->p = payload;
	it->end = it->p + len;
}

int vj_kv_next(struct vj_kv_iter *it, struct vj_kv_entry *e)
{
	if (it->p == it->end)
		return 0;
	size_t avail = (size_t)(it->end - it->p);
	if (avail < 6)
		return -1;
	size_t klen = (size_t)it->p[0] | (size_t)it->p[1] << 8;
	size_t vlen = (size_t)it->p[2] | (size_t)it->p[3] << 8 | (size_t)it->p[4] << 16 |
		      (size_t)it->p[5] << 24;
	if (klen == 0 || klen > avail - 6 || vlen > avail - 6 - klen)
		return -1;
	e->key = (const char *)it->p + 6;
	e->klen = klen;
	e->val = it->p + 6 + klen;
	e->vlen = vlen;
	it->p += 6 + klen + vlen;
	return 1;
}

bool vj_kv_key_is(const struct vj_kv_entry *e, const char *key)
{
	size_t n = strlen(key);
	return e->klen == n && memcmp(e->key, key, n) == 0;
}

int vj_kv_validate(const void *payload, size_t len, struct vj_err *err)
{
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	int rc;
	vj_kv_iter_init(&it, payload, len);
	while ((rc = vj_kv_next(&it, &e)) > 0)
		;
	if (rc < 0)
		return vj_err_set(err, 22, "malformed message (bad key/value encoding)");
	return 0;
}

/* Find the first entry with key: 1 found, 0 missing, -1 malformed. */
static int find(const void *payload, size_t len, const char *key, struct vj_kv_entry *out)
{
	struct vj_kv_iter it;
	int rc;
	vj_kv_iter_init(&it, payload, len);
	while ((rc = vj_kv_next(&it, out)) > 0)
		if (vj_kv_key_is(out, key))
			return 1;
	return rc;
}

int vj_kv_get_str(const void *payload, size_t len, const char *key, char *out, size_t outsz,
		  const char *dflt, struct vj_err *err)
{
	struct vj_kv_entry e;
	int rc = find(payload, len, key, &e);
	if (rc < 0)
		return vj_err_set(err, 22, "malformed message (bad key/value encoding)");
	if (rc == 0) {
		if (!dflt)
			return vj_err_set(err, 22, "missing field '%s'", key);
		if (strlen(dflt) >= outsz)
			return vj_err_set(err, 36, "default for '%s' too long", key);
		strcpy(out, dflt);
		return 0;
	}
	if (e.vlen >= outsz)
		return vj_err_set(err, 36, "field '%s' too long (%zu bytes, limit %zu)", key, e.vlen,
				  outsz - 1);
	if (memchr(e.val, '\0', e.vlen))
		return vj_err_set(err, 22, "field '%s' contains a NUL byte", key);
	memcpy(out, e.val, e.vlen);
	out[e.vlen] = '\0';
	return 0;
}

int vj_kv_get_u64(const void *payload, size_t len, const char *key, uint64_t min, uint64_t max,
		  bool has_default, uint64_t *out, struct vj_err *err)
{
	char tmp[32];
	struct vj_kv_entry e;
	int rc = find(payload, len, key, &e);
	if (rc < 0)
		return vj_err_set(err, 22, "malformed message (bad key/value encoding)");
	if (rc == 0) {
		if (has_default)
			return 0;
		return vj_err_set(err, 22, "missing field '%s'", key);
	}
	if (e.vlen == 0 || e.vlen >= sizeof(tmp))
		return vj_err_set(err, 22, "field '%s' is not a number", key);
	uint64_t v = 0;
	for (size_t i = 0; i < e.vlen; i++) {
		if (e.val[i] < '0' || e.val[i] > '9')
			return vj_err_set(err, 22, "field '%s' is not a number", key);
		uint64_t d = (uint64_t)(e.val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return vj_err_set(err, 34, "field '%s' out of range", key);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return vj_err_set(err, 34, "field '%s'=%" PRIu64 " out of range [%" PRIu64 ", %" PRIu64 "]",
				  key, v, min, max);
	*out = v;
	return 0;
}

long vj_kv_count(const void *payload, size_t len, const char *key)
{
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	long n = 0;
	int rc;
	vj_kv_iter_init(&it, payload, len);
	while ((rc = vj_kv_next(&it, &e)) > 0)
		if (vj_kv_key_is(&e, key))
			n++;
	return rc < 0 ? -1 : n;
}

void vj_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int vj_kv_get_strv(const void *payload, size_t len, const char *key, size_t max, char ***out,
		   struct vj_err *err)
{
	long n = vj_kv_count(payload, len, key);
	if (n < 0)
		return vj_err_set(err, 22, "malformed message (bad key/value encoding)");
	if ((size_t)n > max)
		return vj_err_set(err, 7, "too many '%s' fields (%ld, limit %zu)", key, n, max);
	char **v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return vj_err_set(err, 12, "out of memory");
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	size_t i = 0;
	vj_kv_iter_init(&it, payload, len);
	while (vj_kv_next(&it, &e) > 0) {
		if (!vj_kv_key_is(&e, key))
			continue;
		if (memchr(e.val, '\0', e.vlen)) {
			vj_strv_free(v);
			return vj_err_set(err, 22, "field '%s' contains a NUL byte", key);
		}
		v[i] = strndup((const char *)e.val, e.vlen);
		if (!v[i]) {
			vj_strv_free(v);
			return vj_err_set(err, 12, "out of memory");
		}
		i++;
	}
	*out = v;
	return 0;
}
