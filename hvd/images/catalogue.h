/* The image catalogue: an INI file fetched from the configured URL. It is
 * remote input, so the parser bounds everything and rejects what it does not
 * understand instead of guessing.
 *
 *   [NAME]                      NAME: [A-Za-z0-9._-]{1,64}
 *   root = URL                  relative URLs resolve against the catalogue's
 *   root_sha256 = HEX64
 *   root_format = raw | qcow2   (default raw)
 *   kernel = URL
 *   kernel_sha256 = HEX64
 *   initrd = URL
 *   initrd_sha256 = HEX64
 *   cmdline = kernel command line
 *   description = free text     (other keys are ignored, for newer catalogues)
 *
 * Read with inih (hvd/base/ini.h): lines starting with # or ; and a ; after
 * white space are comments; a # inside a value is part of it (URLs). */
#ifndef HV_CATALOGUE_H
#define HV_CATALOGUE_H

#include <stddef.h>

#include "err.h"
#include "names.h"

#define HV_URL_MAX 2048

struct hv_artifact {
	char url[HV_URL_MAX];
	char sha256[VJ_SHA256_SZ];
};

/* How the guest starts (catalogue `init`): vmjob-init runs the agent at
 * once (fast), or the image's own init (systemd) starts it as a unit. */
enum hv_image_init { HV_INIT_VMJOB, HV_INIT_IMAGE };
extern const char *const HV_INIT_WORDS[]; /* "vmjob", "image", NULL */

struct hv_image {
	char name[VJ_NAME_SZ];
	struct hv_artifact root, kernel, initrd;
	char root_format[8];
	char cmdline[1024];
	char description[256]; /* for users choosing an image; "" if none */
	enum hv_image_init init;
};

struct hv_catalogue {
	struct hv_image *images;
	size_t n;
};

/* Parse text (from base_url, used to resolve relative URLs). Errors name the line. */
int hv_catalogue_parse(const char *text, size_t len, const char *base_url,
		       struct hv_catalogue *out, struct vj_err *err);
void hv_catalogue_free(struct hv_catalogue *c);
/* Fetch and parse the catalogue at url (the caller frees it). */
int hv_catalogue_load(const char *url, struct hv_catalogue *out, struct vj_err *err);
/* Fetch the catalogue at url and copy out the image called name. An unknown
 * name fails naming the close matches, if any, and the names it offers. */
int hv_catalogue_find(const char *url, const char *name, struct hv_image *out, struct vj_err *err);

#endif
