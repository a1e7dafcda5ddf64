/* The kv codec round-trips, and rejects every malformed or hostile payload
 * without reading past it. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kv.h"

static void roundtrip(void)
{
	struct vj_kvbuf b;
	struct vj_err err = {0};
	vj_kv_init(&b);
	vj_kv_add_str(&b, "image", "minimal");
	vj_kv_add_u64(&b, "job", 4242);
	vj_kv_add_str(&b, "arg", "sh");
	vj_kv_add_str(&b, "arg", "-c");
	vj_kv_add(&b, "script", "a\0b", 3);
	CHECK(!b.oom);

	char s[16];
	CHECK(vj_kv_get_str(b.data, b.len, "image", s, sizeof(s), NULL, &err) == 0);
	CHECK(strcmp(s, "minimal") == 0);
	uint64_t v = 0;
	CHECK(vj_kv_get_u64(b.data, b.len, "job", 1, 1000000, false, &v, &err) == 0 && v == 4242);
	CHECK(vj_kv_get_u64(b.data, b.len, "job", 1, 100, false, &v, &err) == -1);
	CHECK(strstr(err.msg, "out of range") != NULL);
	v = 7;
	CHECK(vj_kv_get_u64(b.data, b.len, "absent", 0, 10, true, &v, &err) == 0 && v == 7);
	CHECK(vj_kv_get_u64(b.data, b.len, "absent", 0, 10, false, &v, &err) == -1);
	CHECK(vj_kv_get_u64(b.data, b.len, "image", 0, 10, false, &v, &err) == -1);

	char **argv = NULL;
	CHECK(vj_kv_get_strv(b.data, b.len, "arg", 8, &argv, &err) == 0);
	CHECK(argv && strcmp(argv[0], "sh") == 0 && strcmp(argv[1], "-c") == 0 && !argv[2]);
	vj_strv_free(argv);
	CHECK(vj_kv_get_strv(b.data, b.len, "arg", 1, &argv, &err) == -1); /* count cap */
	/* A value with a NUL cannot become a C string. */
	CHECK(vj_kv_get_str(b.data, b.len, "script", s, sizeof(s), NULL, &err) == -1);
	/* Too long for the caller's buffer. */
	char tiny[4];
	CHECK(vj_kv_get_str(b.data, b.len, "image", tiny, sizeof(tiny), NULL, &err) == -1);
	CHECK(vj_kv_count(b.data, b.len, "arg") == 2);
	CHECK(vj_kv_validate(b.data, b.len, &err) == 0);

	/* Every truncation of a valid payload is either valid or rejected. */
	for (size_t cut = 0; cut < b.len; cut++) {
		uint8_t copy[256];
		memcpy(copy, b.data, cut);
		(void)vj_kv_validate(copy, cut, &err);
		(void)vj_kv_count(copy, cut, "arg");
	}
	CHECK(vj_kv_validate(b.data, b.len - 1, &err) == -1);
	vj_kv_free(&b);
}

static void hostile(void)
{
	struct vj_err err = {0};
	/* Value length pointing far past the end. */
	uint8_t bad1[] = {3, 0, 0xff, 0xff, 0xff, 0x7f, 'a', 'b', 'c'};
	CHECK(vj_kv_validate(bad1, sizeof(bad1), &err) == -1);
	/* Zero-length key. */
	uint8_t bad2[] = {0, 0, 0, 0, 0, 0};
	CHECK(vj_kv_validate(bad2, sizeof(bad2), &err) == -1);
	/* Header cut short. */
	uint8_t bad3[] = {1, 0, 0};
	CHECK(vj_kv_validate(bad3, sizeof(bad3), &err) == -1);
	char s[8];
	CHECK(vj_kv_get_str(bad1, sizeof(bad1), "abc", s, sizeof(s), NULL, &err) == -1);
	CHECK(vj_kv_validate(NULL, 0, &err) == 0); /* empty payload is valid */
}

int main(void)
{
	roundtrip();
	hostile();
	return CHECK_DONE();
}
