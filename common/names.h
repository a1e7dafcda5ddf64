/* Sizes of the names that travel between the parts: job and image names
 * become file, domain and LV names ([A-Za-z0-9._-], at most VJ_NAME_MAX
 * bytes), SHA-256 digests are written as VJ_SHA256_HEX lowercase hex digits.
 * Buffers are declared with the _SZ forms (room for the NUL). */
#ifndef VJ_NAMES_H
#define VJ_NAMES_H

#define VJ_NAME_MAX 64
#define VJ_NAME_SZ (VJ_NAME_MAX + 1)
#define VJ_SHA256_HEX 64
#define VJ_SHA256_SZ (VJ_SHA256_HEX + 1)

#include <stdbool.h>

/* [A-Za-z0-9._-]{1,VJ_NAME_MAX}, not starting with '.' or '-'. */
bool vj_name_valid(const char *s);

#endif
