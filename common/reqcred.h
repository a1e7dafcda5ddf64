/* The munge credential every request to hvd carries (docs/internals.md,
 * "hvd requests"). Only the names and the payload format live here: common/
 * is linked into the static guest agent, which must not link libmunge, so the
 * encoding is spank-plugin/hvdclient.c's and the decoding hvd/auth.c's. */
#ifndef VJ_REQCRED_H
#define VJ_REQCRED_H

/* kv key of the credential; it must be the request's last entry, so that
 * "everything before it" is the request it vouches for. */
#define VJ_CRED_KEY "cred"

/* What the credential says: the request type and the SHA-256 (lowercase hex)
 * of the payload bytes before the cred entry. A credential captured on its
 * way to hvd thus cannot be spent on a different request; munged itself
 * refuses a second decode of the same credential (replay). */
#define VJ_CRED_FMT "vmjob-hvd-request/1 type=%u sha256=%s"

/* Longest credential hvd accepts (munge's are about 200 bytes base64). */
#define VJ_CRED_MAX 4096

#endif
