#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"

struct hv_sha256 {
	EVP_MD_CTX *ctx;
};

struct hv_sha256 *hv_sha256_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return NULL;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	struct hv_sha256 *h = malloc(sizeof(*h));
	if (!h) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	h->ctx = ctx;
	return h;
}

struct hv_sha256 *hv_sha256_dup(const struct hv_sha256 *h)
{
	struct hv_sha256 *d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || EVP_MD_CTX_copy_ex(d->ctx, h->ctx) != 1) {
		EVP_MD_CTX_free(d->ctx);
		free(d);
		return NULL;
	}
	return d;
}

void hv_sha256_update(struct hv_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void hv_sha256_final(struct hv_sha256 *h, char hex[VJ_SHA256_SZ])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		memset(md, 0, n = 32); /* an all-zero digest never matches a real one */
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hv_sha256_free(h);
}

void hv_sha256_free(struct hv_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

bool hv_sha256_valid(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}
