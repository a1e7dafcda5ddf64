#include "catalogue.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "base/ini.h"
#include "base/sha256.h"

#define CATALOGUE_MAX_BYTES (1u << 20)
#define CATALOGUE_MAX_IMAGES 1024

const char *const HV_INIT_WORDS[] = {"vmjob", "image", NULL};

void hv_catalogue_free(struct hv_catalogue *c)
{
	free(c->images);
	c->images = NULL;
	c->n = 0;
}

static int set_field(char *dst, size_t dstsz, const char *v)
{
	if (strlen(v) >= dstsz)
		return -1;
	strcpy(dst, v);
	return 0;
}

/* One `key = value` line inside [section]. Returns -1 with err set. */
static int image_key(struct hv_image *im, const char *k, const char *v, const char *base,
		     struct vj_err *err)
{
	struct hv_artifact *a = NULL;
	const char *what = k;
	if (!strcmp(k, "root") || !strcmp(k, "kernel") || !strcmp(k, "initrd")) {
		a = !strcmp(k, "root") ? &im->root : !strcmp(k, "kernel") ? &im->kernel : &im->initrd;
		if (!*v)
			return vj_err_set(err, EINVAL, "empty URL for '%s'", k);
		return hv_url_resolve(base, v, a->url, sizeof(a->url), err);
	}
	if (!strcmp(k, "root_sha256") || !strcmp(k, "kernel_sha256") || !strcmp(k, "initrd_sha256")) {
		a = k[0] == 'r' ? &im->root : k[0] == 'k' ? &im->kernel : &im->initrd;
		if (!hv_sha256_valid(v))
			return vj_err_set(err, EINVAL, "'%s' is not 64 lowercase hex digits", what);
		strcpy(a->sha256, v);
		return 0;
	}
	if (!strcmp(k, "root_format")) {
		if (strcmp(v, "raw") && strcmp(v, "qcow2"))
			return vj_err_set(err, EINVAL, "root_format '%s' is not raw or qcow2", v);
		strcpy(im->root_format, v);
		return 0;
	}
	if (!strcmp(k, "cmdline")) {
		if (set_field(im->cmdline, sizeof(im->cmdline), v))
			return vj_err_set(err, EINVAL, "cmdline too long");
		return 0;
	}
	if (!strcmp(k, "description")) {
		snprintf(im->description, sizeof(im->description), "%s", v); /* long: cut */
		return 0;
	}
	if (!strcmp(k, "init")) {
		for (int i = 0; HV_INIT_WORDS[i]; i++)
			if (!strcmp(v, HV_INIT_WORDS[i])) {
				im->init = (enum hv_image_init)i;
				return 0;
			}
		return vj_err_set(err, EINVAL, "init '%s' is not vmjob or image", v);
	}
	return 0; /* keys of newer catalogues */
}

static int image_complete(const struct hv_image *im, struct vj_err *err)
{
	const struct {
		const char *name;
		const struct hv_artifact *a;
	} parts[] = {{"root", &im->root}, {"kernel", &im->kernel}, {"initrd", &im->initrd}};
	for (size_t i = 0; i < 3; i++) {
		if (!parts[i].a->url[0])
			return vj_err_set(err, EINVAL, "image '%s' has no '%s'", im->name, parts[i].name);
		if (!parts[i].a->sha256[0])
			return vj_err_set(err, EINVAL, "image '%s' has no '%s_sha256'", im->name,
					  parts[i].name);
	}
	return 0;
}

struct parse {
	struct hv_catalogue c;
	struct hv_image *cur;
	const char *base_url;
};

static int on_section(void *u, const char *name, struct vj_err *err)
{
	struct parse *p = u;
	if (!vj_name_valid(name))
		return vj_err_set(err, EINVAL, "invalid image name '%.80s'", name);
	if (p->cur && image_complete(p->cur, err))
		return -1;
	for (size_t i = 0; i < p->c.n; i++)
		if (!strcmp(p->c.images[i].name, name))
			return vj_err_set(err, EINVAL, "image '%s' defined twice", name);
	if (p->c.n == CATALOGUE_MAX_IMAGES)
		return vj_err_set(err, EINVAL, "more than %d images", CATALOGUE_MAX_IMAGES);
	struct hv_image *ni = realloc(p->c.images, (p->c.n + 1) * sizeof(*ni));
	if (!ni)
		return vj_err_set(err, ENOMEM, "out of memory");
	p->c.images = ni;
	p->cur = &p->c.images[p->c.n++];
	memset(p->cur, 0, sizeof(*p->cur));
	strcpy(p->cur->name, name);
	strcpy(p->cur->root_format, "raw");
	return 0;
}

static int on_key(void *u, const char *section, const char *k, const char *v, struct vj_err *err)
{
	struct parse *p = u;
	(void)section; /* p->cur is that section's image */
	if (!p->cur)
		return vj_err_set(err, EINVAL, "'%.64s' outside an [image] section", k);
	return image_key(p->cur, k, v, p->base_url, err);
}

int hv_catalogue_parse(const char *text, size_t len, const char *base_url,
		       struct hv_catalogue *out, struct vj_err *err)
{
	struct parse p = {.base_url = base_url};
	const struct hv_ini ini = {.on_section = on_section, .on_key = on_key, .u = &p};
	unsigned line;
	if (hv_ini_parse(text, len, &ini, &line, err)) {
		hv_catalogue_free(&p.c);
		return line ? vj_err_prefix(err, "catalogue %s, line %u", base_url, line)
			    : vj_err_prefix(err, "catalogue %s", base_url);
	}
	if (p.cur && image_complete(p.cur, err)) {
		hv_catalogue_free(&p.c);
		return vj_err_prefix(err, "catalogue %s", base_url);
	}
	*out = p.c;
	return 0;
}

int hv_catalogue_load(const char *url, struct hv_catalogue *out, struct vj_err *err)
{
	char *text = NULL;
	size_t len = 0;
	if (hv_fetch_mem(url, CATALOGUE_MAX_BYTES, &text, &len, err))
		return vj_err_prefix(err, "cannot read the image catalogue");
	int rc = hv_catalogue_parse(text, len, url, out, err);
	free(text);
	return rc;
}

/* Edit distance of a and b (both at most VJ_NAME_MAX), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[VJ_NAME_SZ + 1];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* ", a, b" of the names for which keep(name) holds, into out. */
static void name_list(const struct hv_catalogue *c, const char *name, bool close, char *out,
		      size_t outsz)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < c->n && used < outsz - 1; i++) {
		const char *n = c->images[i].name;
		size_t lim = strlen(name) / 3 + 1; /* a typo or two, not another word */
		if (close && distance(name, n) > lim && !strstr(n, name))
			continue;
		int w = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", n);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (used >= outsz - 1)
		strcpy(out + outsz - 5, "...");
}

int hv_catalogue_find(const char *url, const char *name, struct hv_image *out, struct vj_err *err)
{
	struct hv_catalogue c;
	if (hv_catalogue_load(url, &c, err))
		return -1;
	for (size_t i = 0; i < c.n; i++)
		if (!strcmp(c.images[i].name, name)) {
			*out = c.images[i];
			hv_catalogue_free(&c);
			return 0;
		}
	char avail[512], close[256], hint[300] = "";
	name_list(&c, name, false, avail, sizeof(avail));
	name_list(&c, name, true, close, sizeof(close));
	if (close[0])
		snprintf(hint, sizeof(hint), " (did you mean %s?)", close);
	vj_err_set(err, ENOENT, "unknown image '%s'%s: not in the catalogue %s (available: %s)", name,
		   hint, url, c.n ? avail : "none");
	hv_catalogue_free(&c);
	return -1;
}
