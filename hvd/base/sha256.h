/* SHA-256 through OpenSSL's libcrypto EVP interface, fed incrementally so a
 * download is hashed as it is written. */
#ifndef HV_SHA256_H
#define HV_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include "names.h"

struct hv_sha256;

struct hv_sha256 *hv_sha256_new(void);
/* A copy holding the same state: peek at a digest without ending the hash. */
struct hv_sha256 *hv_sha256_dup(const struct hv_sha256 *h);
void hv_sha256_update(struct hv_sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits + NUL into hex[VJ_SHA256_SZ] and frees h. */
void hv_sha256_final(struct hv_sha256 *h, char hex[VJ_SHA256_SZ]);
void hv_sha256_free(struct hv_sha256 *h);
static inline void hv_sha256_freep(struct hv_sha256 **h)
{
	hv_sha256_free(*h);
}
#define cleanup_sha256 __attribute__((cleanup(hv_sha256_freep)))
/* True if s is exactly 64 lowercase hex digits (safe as a file name). */
bool hv_sha256_valid(const char *s);

#endif
