/* An OCI image layout (what umoci, skopeo copy oci:..., buildah push oci:...
 * write): index.json names manifests by descriptor, a manifest names its
 * config and layers, every file a descriptor names is blobs/sha256/<hex>.
 * Everything here is hostile input: each descriptor's digest is checked to
 * be a plain sha256, each blob against its size and digest before use. */
#include "imagetool.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "cleanup.h"

#define MAX_JSON (4u << 20)     /* index, manifest, config: a few KiB in practice */
#define MAX_NESTING 2           /* an index may name an index (multi-platform) */
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REF_NAME "org.opencontainers.image.ref.name"

bool vi_oci_is_layout(const char *dir)
{
	char p[4096];
	struct stat st;
	return snprintf(p, sizeof(p), "%s/oci-layout", dir) < (int)sizeof(p) && stat(p, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

static json_t *parse(const char *text, size_t len, const char *what, struct vj_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		vj_err_set(err, EINVAL, "%s: not JSON (line %d: %s)", what, je.line, je.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		vj_err_set(err, EINVAL, "%s: not a JSON object", what);
	}
	return j;
}

/* A descriptor: {mediaType, digest: "sha256:<64 hex>", size}. */
static int desc(json_t *d, const char *what, struct vi_desc *out, struct vj_err *err)
{
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *sz = json_object_get(d, "size");
	if (!json_is_object(d) || !dg || !json_is_integer(sz) || json_integer_value(sz) < 0)
		return vj_err_set(err, EINVAL, "%s: a descriptor needs digest and size", what);
	if (strncmp(dg, "sha256:", 7) || !hv_sha256_valid(dg + 7))
		return vj_err_set(err, EINVAL, "%s: digest '%.80s' is not sha256:<64 hex digits>",
				  what, dg);
	snprintf(out->media_type, sizeof(out->media_type), "%s", mt ? mt : "");
	snprintf(out->digest, sizeof(out->digest), "%s", dg + 7);
	out->size = (uint64_t)json_integer_value(sz);
	return 0;
}

int vi_oci_pick(const char *index_json, size_t len, const char *ref, struct vi_desc *out,
		bool *nested, struct vj_err *err)
{
	json_auto_t *idx = parse(index_json, len, "index.json", err);
	if (!idx)
		return -1;
	json_t *ms = json_object_get(idx, "manifests");
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return vj_err_set(err, EINVAL, "index.json names no image");
	size_t n = json_array_size(ms);
	json_t *pick = NULL;
	char refs[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(ms, i);
		const char *name = json_string_value(json_object_get(json_object_get(m, "annotations"),
								      REF_NAME));
		json_t *plat = json_object_get(m, "platform");
		const char *arch = json_string_value(json_object_get(plat, "architecture"));
		const char *os = json_string_value(json_object_get(plat, "os"));
		if (plat && ((arch && strcmp(arch, "amd64")) || (os && strcmp(os, "linux"))))
			continue; /* another platform's entry of a multi-platform index */
		if (name && used < sizeof(refs))
			used += (size_t)snprintf(refs + used, sizeof(refs) - used, "%s%.64s",
						 used ? ", " : "", name);
		if (ref ? (name && !strcmp(name, ref)) : n == 1 || plat != NULL)
			pick = pick ? pick : m;
	}
	if (!pick && ref)
		return vj_err_set(err, ENOENT, "no image '%s' in the layout (it has: %s)", ref,
				  refs[0] ? refs : "no named images");
	if (!pick)
		return vj_err_set(err, EINVAL, "the layout holds %zu images: name one as LAYOUT:REF "
				  "(it has: %s)", n, refs[0] ? refs : "no named images");
	if (desc(pick, "index.json", out, err))
		return -1;
	*nested = !strcmp(out->media_type, MT_INDEX) || !strcmp(out->media_type, MT_DOCKER_LIST);
	return 0;
}

int vi_oci_manifest(const char *json, size_t len, struct vi_desc *config, struct vi_desc *layers,
		    size_t max, size_t *n, struct vj_err *err)
{
	json_auto_t *m = parse(json, len, "the manifest", err);
	if (!m)
		return -1;
	if (desc(json_object_get(m, "config"), "the manifest's config", config, err))
		return -1;
	json_t *ls = json_object_get(m, "layers");
	if (!json_is_array(ls))
		return vj_err_set(err, EINVAL, "the manifest has no layers");
	if (json_array_size(ls) > max)
		return vj_err_set(err, E2BIG, "the manifest has %zu layers (at most %zu)",
				  json_array_size(ls), max);
	*n = json_array_size(ls);
	for (size_t i = 0; i < *n; i++) {
		char what[64];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (desc(json_array_get(ls, i), what, &layers[i], err))
			return -1;
		if (!strstr(layers[i].media_type, "tar"))
			return vj_err_set(err, EINVAL, "%s has media type '%s', not a tar layer", what,
					  layers[i].media_type);
	}
	return 0;
}

int vi_oci_platform(const char *config_json, size_t len, struct vj_err *err)
{
	json_auto_t *c = parse(config_json, len, "the image config", err);
	if (!c)
		return -1;
	const char *arch = json_string_value(json_object_get(c, "architecture"));
	const char *os = json_string_value(json_object_get(c, "os"));
	if (os && strcmp(os, "linux"))
		return vj_err_set(err, EINVAL, "the image is for %.32s, not linux", os);
	if (arch && strcmp(arch, "amd64"))
		return vj_err_set(err, EINVAL, "the image is for %.32s; vmjob guests are amd64", arch);
	return 0;
}

/* blobs/sha256/<hex>, checked against the descriptor: a regular file (no
 * link), of its size and digest. */
static int blob_path(const char *layout, const struct vi_desc *d, char *path, size_t n,
		     struct vj_err *err)
{
	if (snprintf(path, n, "%s/blobs/sha256/%s", layout, d->digest) >= (int)n)
		return vj_err_set(err, ENAMETOOLONG, "layout path too long");
	struct stat st;
	if (lstat(path, &st) < 0)
		return vj_err_sys(err, errno, "blob sha256:%.12s...", d->digest);
	if (!S_ISREG(st.st_mode))
		return vj_err_set(err, EINVAL, "blob sha256:%.12s... is not a regular file", d->digest);
	char got[VJ_SHA256_SZ];
	uint64_t size;
	if (vi_sha256_file(path, got, &size, err))
		return -1;
	if (size != d->size)
		return vj_err_set(err, EBADMSG, "blob sha256:%.12s... has %llu bytes, its descriptor "
				  "says %llu", d->digest, (unsigned long long)size,
				  (unsigned long long)d->size);
	if (strcmp(got, d->digest))
		return vj_err_set(err, EBADMSG, "blob sha256:%.12s... does not match its digest "
				  "(the file has sha256:%.12s...)", d->digest, got);
	return 0;
}

/* A JSON blob (or index.json itself when d is NULL), into memory. */
static char *read_json(const char *layout, const struct vi_desc *d, size_t *len,
		       struct vj_err *err)
{
	char path[4096];
	if (d) {
		if (d->size > MAX_JSON) {
			vj_err_set(err, E2BIG, "blob sha256:%.12s... of %llu bytes is too large for "
				   "JSON", d->digest, (unsigned long long)d->size);
			return NULL;
		}
		if (blob_path(layout, d, path, sizeof(path), err))
			return NULL;
	} else if (snprintf(path, sizeof(path), "%s/index.json", layout) >= (int)sizeof(path)) {
		vj_err_set(err, ENAMETOOLONG, "layout path too long");
		return NULL;
	}
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		vj_err_sys(err, errno, "%s", path);
		return NULL;
	}
	cleanup_free char *buf = malloc(MAX_JSON + 1);
	if (!buf) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, MAX_JSON + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			vj_err_sys(err, errno, "reading %s", path);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > MAX_JSON) {
			vj_err_set(err, E2BIG, "%s is too large for JSON", path);
			return NULL;
		}
	}
	*len = got;
	return vj_steal_ptr(buf);
}

int vi_oci_resolve(const char *layout, const char *ref, struct vi_oci_image *out,
		   struct vj_err *err)
{
	*out = (struct vi_oci_image){0};
	size_t len;
	cleanup_free char *idx = read_json(layout, NULL, &len, err);
	if (!idx)
		return -1;
	struct vi_desc m;
	bool nested;
	if (vi_oci_pick(idx, len, ref, &m, &nested, err))
		return vj_err_prefix(err, "%s", layout);
	for (int depth = 0; nested; depth++) {
		if (depth >= MAX_NESTING)
			return vj_err_set(err, ELOOP, "%s: indexes nested too deep", layout);
		cleanup_free char *sub = read_json(layout, &m, &len, err);
		if (!sub || vi_oci_pick(sub, len, NULL, &m, &nested, err))
			return vj_err_prefix(err, "%s", layout);
	}
	cleanup_free char *man = read_json(layout, &m, &len, err);
	if (!man)
		return vj_err_prefix(err, "%s", layout);
	struct vi_desc config;
	cleanup_free struct vi_desc *ls = calloc(VI_OCI_MAX_LAYERS, sizeof(*ls));
	size_t n;
	if (!ls)
		return vj_err_set(err, ENOMEM, "out of memory");
	if (vi_oci_manifest(man, len, &config, ls, VI_OCI_MAX_LAYERS, &n, err))
		return vj_err_prefix(err, "%s", layout);
	cleanup_free char *cfg = read_json(layout, &config, &len, err);
	if (!cfg || vi_oci_platform(cfg, len, err))
		return vj_err_prefix(err, "%s", layout);
	cleanup_free struct vi_oci_layer *layers = calloc(n ? n : 1, sizeof(*layers));
	if (!layers)
		return vj_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (blob_path(layout, &ls[i], layers[i].path, sizeof(layers[i].path), err))
			return vj_err_prefix(err, "%s: layer %zu", layout, i + 1);
		snprintf(layers[i].digest, sizeof(layers[i].digest), "%s", ls[i].digest);
		layers[i].size = ls[i].size;
	}
	out->layers = vj_steal_ptr(layers);
	out->n = n;
	return 0;
}

void vi_oci_free(struct vi_oci_image *img)
{
	free(img->layers);
	*img = (struct vi_oci_image){0};
}
