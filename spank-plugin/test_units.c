/* Unit tests for the plugin's pure parts (no Slurm process needed): the core
 * list count that sizes the VM, plugstack argument parsing, image names,
 * the --multi-prog shape. */
#include <string.h>

#include "check.h"
#include "names.h"
#include "paths.h"
#include "vmjob.h"

static int parse(struct vmjob_conf *c, int ac, char **av, struct vj_err *err)
{
	memset(c, 0, sizeof(*c));
	vj_err_clear(err);
	return vmjob_args_parse(ac, av, c, err);
}

static bool size_is(const char *s, uint64_t want)
{
	uint64_t mb = 0;
	return vmjob_parse_size_mb(s, &mb) && mb == want;
}

int main(void)
{
	uint64_t mb;
	CHECK(size_is("512", 512));
	CHECK(size_is("512M", 512));
	CHECK(size_is("20G", 20480));
	CHECK(size_is("20g", 20480));
	CHECK(size_is("1T", 1048576));
	CHECK(size_is("100MiB", 100));
	CHECK(size_is("2GB", 2048));
	CHECK(size_is("1536K", 2));
	CHECK(size_is("1K", 1)); /* rounded up, never 0 */
	CHECK(!vmjob_parse_size_mb("0", &mb));
	CHECK(!vmjob_parse_size_mb("", &mb));
	CHECK(!vmjob_parse_size_mb(NULL, &mb));
	CHECK(!vmjob_parse_size_mb("-1G", &mb));
	CHECK(!vmjob_parse_size_mb("1.5G", &mb));
	CHECK(!vmjob_parse_size_mb("10X", &mb));
	CHECK(!vmjob_parse_size_mb("10 G", &mb));
	CHECK(!vmjob_parse_size_mb("65T", &mb)); /* over the typo guard */
	CHECK(!vmjob_parse_size_mb("99999999999999999999999", &mb));
	CHECK(vmjob_cpulist_count("0") == 1);
	CHECK(vmjob_cpulist_count("0-1") == 2);
	CHECK(vmjob_cpulist_count("0-3,8,10-11") == 7);
	CHECK(vmjob_cpulist_count("") == -1);
	CHECK(vmjob_cpulist_count(NULL) == -1);
	CHECK(vmjob_cpulist_count("3-1") == -1);
	CHECK(vmjob_cpulist_count("0,") == -1);
	CHECK(vmjob_cpulist_count("a") == -1);
	CHECK(vmjob_cpulist_count("0-") == -1);
	CHECK(vmjob_cpulist_count("0-99999999") == -1);

	struct vmjob_conf c;
	struct vj_err err;
	CHECK(parse(&c, 0, NULL, &err) == 0);
	CHECK(!strcmp(c.socket, VJ_DEFAULT_SOCKET));
	CHECK(!strcmp(c.vmexec, VJ_VMEXEC));
	char *ok[] = {"socket=/tmp/x.sock", "vmexec=/opt/vmexec"};
	CHECK(parse(&c, 2, ok, &err) == 0);
	CHECK(!strcmp(c.socket, "/tmp/x.sock") && !strcmp(c.vmexec, "/opt/vmexec"));
	char *unknown[] = {"sockets=/x"};
	CHECK(parse(&c, 1, unknown, &err) < 0 && strstr(err.msg, "unknown plugstack argument 'sockets'"));
	char *relative[] = {"vmexec=vmexec"};
	CHECK(parse(&c, 1, relative, &err) < 0 && strstr(err.msg, "absolute"));
	char *bare[] = {"socket"};
	CHECK(parse(&c, 1, bare, &err) < 0);
	char longsock[200] = "socket=/";
	memset(longsock + 8, 'a', 150);
	char *toolong[] = {longsock};
	CHECK(parse(&c, 1, toolong, &err) < 0);

	/* image names: common/test_names.c */
	char *mp[] = {"/tmp/mp.conf", "0 hostname\n1 uname -r\n"};
	CHECK(vmjob_looks_multiprog(2, mp));
	char *mp2[] = {"/x.conf", "# comment\n0-3,7 prog a\n\n* other\n"};
	CHECK(vmjob_looks_multiprog(2, mp2));
	char *plain[] = {"/bin/echo", "hello"};
	CHECK(!vmjob_looks_multiprog(2, plain));
	char *nl[] = {"/usr/bin/python3", "import os\nprint(1)\n"};
	CHECK(!vmjob_looks_multiprog(2, nl));
	char *three[] = {"sh", "-c", "0 a\n"};
	CHECK(!vmjob_looks_multiprog(3, three));
	{
		/* policy=strict|lenient */
		struct vmjob_conf pc;
		struct vj_err perr;
		char *strict[] = {"policy=strict"}, *lenient[] = {"policy=lenient"}, *bad[] = {"policy=maybe"};
		CHECK(parse(&pc, 1, strict, &perr) == 0 && pc.policy_strict);
		CHECK(parse(&pc, 1, lenient, &perr) == 0 && !pc.policy_strict);
		CHECK(parse(&pc, 0, NULL, &perr) == 0 && !pc.policy_strict);
		CHECK(parse(&pc, 1, bad, &perr) == -1 && strstr(perr.msg, "strict or lenient"));
	}
	return CHECK_DONE();
}
