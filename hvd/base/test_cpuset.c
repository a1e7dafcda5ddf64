/* Host CPU lists and the NUMA nodes they sit on (cpuset.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "base/cpuset.h"

static void test_cpulist(void)
{
	unsigned c[16];
	size_t n;
	CHECK(hv_cpulist_parse("0-3,8,10-11", c, 16, &n) == 0 && n == 7 && c[4] == 8 && c[6] == 11);
	CHECK(hv_cpulist_parse("5", c, 16, &n) == 0 && n == 1 && c[0] == 5);
	CHECK(hv_cpulist_parse("0-1\n", c, 16, &n) == 0 && n == 2); /* sysfs style */
	CHECK(hv_cpulist_parse("", c, 16, &n) == 0 && n == 0);
	CHECK(hv_cpulist_parse("3-1", c, 16, &n) < 0);
	CHECK(hv_cpulist_parse("1,,2", c, 16, &n) < 0);
	CHECK(hv_cpulist_parse("-1", c, 16, &n) < 0);
	CHECK(hv_cpulist_parse("0-", c, 16, &n) < 0);
	CHECK(hv_cpulist_parse("99999", c, 16, &n) < 0);
	CHECK(hv_cpulist_parse("0-16", c, 16, &n) < 0); /* more than max */
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_numa(void)
{
	char dir[] = "/tmp/hvd-numa-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	char p[256];
	snprintf(p, sizeof(p), "%s/node0", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/node0/cpulist", dir);
	put(p, "0-3\n");
	snprintf(p, sizeof(p), "%s/node1", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/node1/cpulist", dir);
	put(p, "4-7\n");
	char out[64];
	hv_numa_nodes_of(dir, "0-1", out, sizeof(out));
	CHECK(!strcmp(out, "0"));
	hv_numa_nodes_of(dir, "3-4", out, sizeof(out));
	CHECK(!strcmp(out, "0,1"));
	hv_numa_nodes_of(dir, "6", out, sizeof(out));
	CHECK(!strcmp(out, "1"));
	hv_numa_nodes_of(dir, "", out, sizeof(out));
	CHECK(!strcmp(out, ""));
	hv_numa_nodes_of(dir, "9", out, sizeof(out));
	CHECK(!strcmp(out, "")); /* on no node: no numatune at all */
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	if (system(p)) { /* test clean-up only */
	}
}

int main(void)
{
	test_cpulist();
	test_numa();
	return CHECK_DONE();
}
