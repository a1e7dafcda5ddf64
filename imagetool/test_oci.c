/* The OCI layout parsers of vmjob-image: which image an index names, what a
 * manifest's descriptors may be, which platforms are refused. */
#include <string.h>

#include "check.h"
#include "imagetool.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define E64 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define MAN(d, ref) "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," \
	"\"digest\":\"sha256:" d "\",\"size\":503,\"annotations\":" \
	"{\"org.opencontainers.image.ref.name\":\"" ref "\"}}"

static int pick(const char *json, const char *ref, struct vi_desc *d, bool *nested,
		struct vj_err *err)
{
	return vi_oci_pick(json, strlen(json), ref, d, nested, err);
}

static void test_pick(void)
{
	struct vi_desc d;
	bool nested;
	struct vj_err err;
	const char *one = "{\"schemaVersion\":2,\"manifests\":[" MAN(D64, "latest") "]}";
	CHECK(pick(one, NULL, &d, &nested, &err) == 0 && !strcmp(d.digest, D64) && !nested &&
	      d.size == 503);
	CHECK(pick(one, "latest", &d, &nested, &err) == 0);
	CHECK(pick(one, "other", &d, &nested, &err) == -1 && err.code == ENOENT &&
	      strstr(err.msg, "it has: latest"));
	const char *two = "{\"manifests\":[" MAN(D64, "a") "," MAN(E64, "b") "]}";
	CHECK(pick(two, NULL, &d, &nested, &err) == -1 && strstr(err.msg, "LAYOUT:REF") &&
	      strstr(err.msg, "a, b"));
	CHECK(pick(two, "b", &d, &nested, &err) == 0 && !strcmp(d.digest, E64));
	/* A multi-platform index: only linux/amd64 is taken. */
	const char *plat = "{\"manifests\":["
			   "{\"mediaType\":\"x\",\"digest\":\"sha256:" D64 "\",\"size\":1,"
			   "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
			   "{\"mediaType\":\"x\",\"digest\":\"sha256:" E64 "\",\"size\":1,"
			   "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
	CHECK(pick(plat, NULL, &d, &nested, &err) == 0 && !strcmp(d.digest, E64));
	const char *idx = "{\"manifests\":[{\"mediaType\":"
			  "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"sha256:" D64
			  "\",\"size\":9}]}";
	CHECK(pick(idx, NULL, &d, &nested, &err) == 0 && nested);
	/* Hostile descriptors: a digest that is a path, another algorithm,
	 * a negative size, no manifests, not JSON, duplicate keys. */
	CHECK(pick("{\"manifests\":[{\"digest\":\"sha256:../../etc/passwd\",\"size\":1}]}", NULL,
		   &d, &nested, &err) == -1 && strstr(err.msg, "not sha256"));
	CHECK(pick("{\"manifests\":[{\"digest\":\"sha512:" D64 "\",\"size\":1}]}", NULL, &d,
		   &nested, &err) == -1);
	CHECK(pick("{\"manifests\":[{\"digest\":\"sha256:" D64 "\",\"size\":-1}]}", NULL, &d,
		   &nested, &err) == -1);
	CHECK(pick("{\"manifests\":[]}", NULL, &d, &nested, &err) == -1 &&
	      strstr(err.msg, "no image"));
	CHECK(pick("not json", NULL, &d, &nested, &err) == -1 && strstr(err.msg, "not JSON"));
	CHECK(pick("[1]", NULL, &d, &nested, &err) == -1);
	CHECK(pick("{\"manifests\":[],\"manifests\":[]}", NULL, &d, &nested, &err) == -1);
}

static void test_manifest(void)
{
	struct vi_desc cfg, ls[4];
	size_t n;
	struct vj_err err;
	const char *m = "{\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			"\"digest\":\"sha256:" D64 "\",\"size\":100},\"layers\":["
			"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			"\"digest\":\"sha256:" E64 "\",\"size\":7},"
			"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
			"\"digest\":\"sha256:" D64 "\",\"size\":8}]}";
	CHECK(vi_oci_manifest(m, strlen(m), &cfg, ls, 4, &n, &err) == 0 && n == 2 &&
	      !strcmp(ls[0].digest, E64) && ls[1].size == 8 && cfg.size == 100);
	CHECK(vi_oci_manifest(m, strlen(m), &cfg, ls, 1, &n, &err) == -1 && err.code == E2BIG);
	const char *notar = "{\"config\":{\"digest\":\"sha256:" D64 "\",\"size\":1},\"layers\":["
			    "{\"mediaType\":\"application/vnd.example.blob\",\"digest\":\"sha256:" E64
			    "\",\"size\":7}]}";
	CHECK(vi_oci_manifest(notar, strlen(notar), &cfg, ls, 4, &n, &err) == -1 &&
	      strstr(err.msg, "not a tar layer"));
	const char *nocfg = "{\"layers\":[]}";
	CHECK(vi_oci_manifest(nocfg, strlen(nocfg), &cfg, ls, 4, &n, &err) == -1);
}

static void test_platform(void)
{
	struct vj_err err;
	const char *ok = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
	const char *arm = "{\"architecture\":\"arm64\",\"os\":\"linux\"}";
	const char *win = "{\"architecture\":\"amd64\",\"os\":\"windows\"}";
	CHECK(vi_oci_platform(ok, strlen(ok), &err) == 0);
	CHECK(vi_oci_platform(arm, strlen(arm), &err) == -1 && strstr(err.msg, "arm64"));
	CHECK(vi_oci_platform(win, strlen(win), &err) == -1 && strstr(err.msg, "windows"));
	CHECK(vi_oci_platform("{}", 2, &err) == 0); /* unsaid: assumed to fit */
}

int main(void)
{
	test_pick();
	test_manifest();
	test_platform();
	return CHECK_DONE();
}
