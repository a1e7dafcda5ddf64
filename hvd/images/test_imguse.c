/* Unit tests of imguse.c's pure parts: the qcow2 header reader (its input
 * is a file on disk QEMU writes to) and the users list of a cache file. */
#include <string.h>

#include "check.h"
#include "images/imguse.h"

static size_t header(uint8_t *buf, size_t n, uint64_t off, uint32_t len, const char *name)
{
	memset(buf, 0, n);
	memcpy(buf, "QFI\xfb", 4);
	buf[7] = 3; /* version */
	for (int i = 0; i < 8; i++)
		buf[8 + i] = (uint8_t)(off >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		buf[16 + i] = (uint8_t)(len >> (24 - 8 * i));
	if (name && off + strlen(name) <= n)
		memcpy(buf + off, name, strlen(name));
	return n;
}

static void test_qcow2(void)
{
	uint8_t b[1024];
	char out[256];
	const char *base = "/var/cache/vmjob/images/b43c804d1b630301d94ffdd7b632361176f0440317f7eb7f5f2534465d6ae53d";
	size_t n = header(b, sizeof(b), 0x200, (uint32_t)strlen(base), base);
	CHECK(hv_qcow2_backing(b, n, out, sizeof(out)) == 1);
	CHECK(!strcmp(out, base));
	/* no backing file */
	header(b, sizeof(b), 0, 0, NULL);
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == 0);
	/* not qcow2 (a raw image), or too short to tell */
	memset(b, 0, sizeof(b));
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == 0);
	CHECK(hv_qcow2_backing((const uint8_t *)"QFI\xfb", 4, out, sizeof(out)) == 0);
	/* the name past what was read, past the buffer, or longer than out */
	header(b, sizeof(b), 1000, 100, NULL);
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == -1);
	header(b, sizeof(b), UINT64_MAX - 4, 100, NULL);
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == -1);
	header(b, sizeof(b), 0x200, 300, NULL);
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == -1);
	/* a NUL inside the name */
	header(b, sizeof(b), 0x200, 8, "abc");
	CHECK(hv_qcow2_backing(b, sizeof(b), out, sizeof(out)) == -1);
}

static void test_users(void)
{
	struct hv_use v[] = {{"aa", "12"}, {"bb", "13"}, {"aa", "12"}, {"aa", "pid:77"}};
	struct hv_uses u = {v, 4};
	char buf[64];
	CHECK(hv_uses_of(&u, "aa", buf, sizeof(buf)) == 2);
	CHECK(!strcmp(buf, "12,pid:77"));
	CHECK(hv_uses_of(&u, "cc", buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, ""));
	char tiny[4];
	CHECK(hv_uses_of(&u, "aa", tiny, sizeof(tiny)) >= 1); /* truncated, never overflowed */
}

int main(void)
{
	test_qcow2();
	test_users();
	return CHECK_DONE();
}
