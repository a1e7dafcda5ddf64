#include "req_images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "images/catalogue.h"
#include "images/fetch.h"
#include "images/imgcache.h"
#include "kv.h"
#include "base/log.h"
#include "reply.h"
#include "base/sha256.h"
#include "names.h"

static int load_catalogue(const struct hv_config *cfg, struct hv_catalogue *c, struct vj_err *err)
{
	return hv_catalogue_load(cfg->catalogue, c, err);
}

/* "minimal:root,minimal-pvh:root": which catalogue entries name sha. */
static void names_of(const struct hv_catalogue *c, const char *sha, char *out, size_t outsz)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		const struct hv_image *im = &c->images[i];
		const struct {
			const char *what;
			const struct hv_artifact *a;
		} parts[] = {{"root", &im->root}, {"kernel", &im->kernel}, {"initrd", &im->initrd}};
		for (size_t k = 0; k < 3; k++) {
			if (strcmp(parts[k].a->sha256, sha))
				continue;
			int w = snprintf(out + used, outsz - used, "%s%s:%s", used ? "," : "", im->name,
					 parts[k].what);
			if (w < 0 || (size_t)w >= outsz - used)
				return;
			used += (size_t)w;
		}
	}
}

void hv_req_images(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	(void)f;
	struct vj_err err = {0};
	struct hv_cache_entry *ents;
	size_t n;
	if (hv_cache_list(&ents, &n, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	/* Labels only: the listing stands without a reachable catalogue. */
	struct hv_catalogue cat = {0};
	struct vj_err cerr = {0};
	bool have_cat = load_catalogue(cfg, &cat, &cerr) == 0;
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += ents[i].size;
	vj_kv_add_u64(&kv, "total", total);
	vj_kv_add_u64(&kv, "limit_mb", hv_cache_limit() >> 20);
	if (!have_cat)
		vj_kv_add_str(&kv, "catalogue_error", cerr.msg);
	for (size_t i = 0; i < n; i++) {
		const struct hv_cache_entry *e = &ents[i];
		char names[512] = "";
		if (have_cat)
			names_of(&cat, e->sha256, names, sizeof(names));
		vj_kv_add_fmt(&kv, "image",
			      "sha256=%s state=%s size=%llu last_use=%lld in_use=%d users=%s names=%s",
			      e->sha256, e->partial ? (e->downloading ? "downloading" : "partial") : "cached",
			      (unsigned long long)e->size, (long long)e->last_use, e->nusers > 0,
			      e->nusers ? e->users : "-", names[0] ? names : "-");
	}
	hv_catalogue_free(&cat);
	free(ents);
	hv_reply(fd, VJ_REPLY_OK, &kv);
}

/* Every file of im is whole in the cache (ents: hv_cache_list's). */
static bool cached(const struct hv_image *im, const struct hv_cache_entry *ents, size_t n)
{
	const struct hv_artifact *parts[] = {&im->root, &im->kernel, &im->initrd};
	for (size_t k = 0; k < 3; k++) {
		bool have = false;
		for (size_t i = 0; i < n && !have; i++)
			have = !ents[i].partial && !strcmp(ents[i].sha256, parts[k]->sha256);
		if (!have)
			return false;
	}
	return true;
}

void hv_req_catalogue(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	(void)f;
	struct vj_err err = {0};
	struct hv_catalogue cat;
	if (load_catalogue(cfg, &cat, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	struct hv_cache_entry *ents = NULL;
	size_t n = 0;
	if (hv_cache_list(&ents, &n, &err))
		n = 0; /* the names stand without the cache */
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	for (size_t i = 0; i < cat.n; i++) {
		const struct hv_image *im = &cat.images[i];
		vj_kv_add_str(&kv, "name", im->name);
		vj_kv_add_str(&kv, "description", im->description);
		vj_kv_add_str(&kv, "init", HV_INIT_WORDS[im->init]);
		vj_kv_add_u64(&kv, "cached", cached(im, ents, n));
	}
	free(ents);
	hv_catalogue_free(&cat);
	hv_reply(fd, VJ_REPLY_OK, &kv);
}

void hv_req_pull(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	struct vj_err err = {0};
	char name[VJ_NAME_SZ];
	struct hv_image im;
	if (vj_kv_get_str(f->payload, f->len, "image", name, sizeof(name), NULL, &err) ||
	    !vj_name_valid(name)) {
		hv_reply_err(fd, err.msg[0] ? err.msg : "bad PULL request: invalid image name");
		return;
	}
	struct hv_pull_res res[3];
	if (hv_catalogue_find(cfg->catalogue, name, &im, &err) || hv_cache_pull(&im, res, &err)) {
		hv_err("pull of image '%s': %s", name, err.msg);
		hv_reply_err(fd, err.msg);
		return;
	}
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	for (int i = 0; i < 3; i++)
		vj_kv_add_fmt(&kv, "file", "what=%s sha256=%s size=%llu fetched=%d ms=%ld", res[i].what,
			      res[i].sha256, (unsigned long long)res[i].size, res[i].fetched, res[i].ms);
	hv_info("pulled image '%s'", name);
	hv_reply(fd, VJ_REPLY_OK, &kv);
}

/* EVICT targets: digests as given, image names as their three digests. */
static int resolve_targets(const struct hv_config *cfg, char **targets, char ***shas,
			   size_t *nshas, struct vj_err *err)
{
	struct hv_catalogue cat = {0};
	bool loaded = false;
	size_t n = 0, cap = 0;
	char **v = NULL;
	int rc = 0;
	for (size_t t = 0; targets[t] && !rc; t++) {
		const char *add[3] = {targets[t], NULL, NULL};
		if (!hv_sha256_valid(targets[t])) {
			if (!vj_name_valid(targets[t])) {
				rc = vj_err_set(err, EINVAL, "'%.80s' is neither an image name nor a sha256",
						targets[t]);
				break;
			}
			if (!loaded && load_catalogue(cfg, &cat, err)) {
				rc = -1;
				break;
			}
			loaded = true;
			const struct hv_image *im = NULL;
			for (size_t i = 0; i < cat.n && !im; i++)
				if (!strcmp(cat.images[i].name, targets[t]))
					im = &cat.images[i];
			if (!im) {
				rc = vj_err_set(err, ENOENT, "unknown image '%s': not in the catalogue %s",
						targets[t], cfg->catalogue);
				break;
			}
			add[0] = im->root.sha256;
			add[1] = im->kernel.sha256;
			add[2] = im->initrd.sha256;
		}
		for (int k = 0; k < 3 && add[k]; k++) {
			if (n + 1 >= cap) {
				cap = cap ? cap * 2 : 8;
				char **nv = realloc(v, cap * sizeof(*nv));
				if (!nv) {
					rc = vj_err_set(err, ENOMEM, "out of memory");
					break;
				}
				v = nv;
			}
			if (!(v[n] = strdup(add[k]))) {
				rc = vj_err_set(err, ENOMEM, "out of memory");
				break;
			}
			v[++n] = NULL;
		}
	}
	hv_catalogue_free(&cat);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	*shas = v;
	*nshas = n;
	return 0;
}

void hv_req_evict(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	struct vj_err err = {0};
	uint64_t all = 0;
	char **targets = NULL, **shas = NULL;
	size_t nshas = 0;
	if (vj_kv_get_u64(f->payload, f->len, "all", 0, 1, true, &all, &err) ||
	    vj_kv_get_strv(f->payload, f->len, "target", 256, &targets, &err)) {
		vj_err_prefix(&err, "bad EVICT request");
		hv_reply_err(fd, err.msg);
		return;
	}
	enum hv_evict_mode mode = all ? HV_EVICT_UNUSED : targets[0] ? HV_EVICT_THESE : HV_EVICT_TRIM;
	if (mode == HV_EVICT_THESE && resolve_targets(cfg, targets, &shas, &nshas, &err)) {
		vj_strv_free(targets);
		hv_reply_err(fd, err.msg);
		return;
	}
	vj_strv_free(targets);
	struct hv_evict_res *res = NULL;
	size_t n = 0;
	int rc = hv_cache_evict(mode, shas, nshas, NULL, &res, &n, &err);
	for (size_t i = 0; i < nshas; i++)
		free(shas[i]);
	free(shas);
	if (rc) {
		hv_reply_err(fd, err.msg);
		return;
	}
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	for (size_t i = 0; i < n; i++) {
		const struct hv_evict_res *r = &res[i];
		if (r->evicted) {
			hv_info("image cache: evicted %s%s (%llu bytes) on request",
				r->partial ? ".part-" : "", r->sha256, (unsigned long long)r->size);
			vj_kv_add_fmt(&kv, "evicted", "sha256=%s partial=%d size=%llu", r->sha256,
				      r->partial, (unsigned long long)r->size);
		} else {
			vj_kv_add_fmt(&kv, "kept", "sha256=%s partial=%d size=%llu reason=%s", r->sha256,
				      r->partial, (unsigned long long)r->size, r->why);
		}
	}
	free(res);
	hv_reply(fd, VJ_REPLY_OK, &kv);
}
