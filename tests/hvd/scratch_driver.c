/* Test driver for hvd's scratch backends (hvd/scratch*.c): one command per
 * process, so "after a restart" is simply the next invocation. Runs the real
 * backend code, on the host (file backend, parser self-test) and inside the
 * LVM test guest (tests/hvd/10-lvm-scratch.sh), where it is linked statically.
 *
 *   scratch-driver CONF create JOB ASKED_MB CPUS   (ASKED_MB 0 = the default)
 *   scratch-driver CONF remove JOB
 *   scratch-driver CONF list
 *   scratch-driver - selftest
 *
 * Prints one line per result ("created ...", "removed ...", "vol ...",
 * "listed N") or "error: MSG" and exits 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "scratch.h"

static int print_vol(const struct hv_scratch *s, void *ud)
{
	(*(int *)ud)++;
	printf("vol %s %s %llu %s\n", s->job, s->path, (unsigned long long)s->size_mb,
	       s->block ? "block" : "file");
	return 0;
}

static int fails;
static void expect(int cond, const char *what)
{
	printf("%s: %s\n", cond ? "ok" : "FAIL", what);
	fails += !cond;
}

/* The lvs/tag parsers against odd input: they read what an admin's VG holds. */
static int selftest(void)
{
	char *name, *tags, job[65];
	uint64_t sz;
	char l1[] = "  vmjob_42|vmjob_hvd_/var/lib/vmjob,vmjob_job_42|67108864";
	expect(hv_lvs_parse_line(l1, &name, &tags, &sz) == 0 && !strcmp(name, "vmjob_42") &&
		       sz == 67108864 && !strcmp(tags, "vmjob_hvd_/var/lib/vmjob,vmjob_job_42"),
	       "a normal lvs row parses");
	char l2[] = "  root||1073741824";
	expect(hv_lvs_parse_line(l2, &name, &tags, &sz) == 0 && !tags[0], "a row without tags parses");
	char l3[] = "  a|b|12|13", l4[] = "  a|b", l5[] = "  a|b|12B", l6[] = "  |b|12",
	     l7[] = "  a|b|-1", l8[] = "", l9[] = "  a|b|99999999999999999999999";
	expect(hv_lvs_parse_line(l3, &name, &tags, &sz) < 0, "four fields are refused");
	expect(hv_lvs_parse_line(l4, &name, &tags, &sz) < 0, "two fields are refused");
	expect(hv_lvs_parse_line(l5, &name, &tags, &sz) < 0, "a size with a suffix is refused");
	expect(hv_lvs_parse_line(l6, &name, &tags, &sz) < 0, "an empty name is refused");
	expect(hv_lvs_parse_line(l7, &name, &tags, &sz) < 0, "a negative size is refused");
	expect(hv_lvs_parse_line(l8, &name, &tags, &sz) < 0, "an empty line is refused");
	expect(hv_lvs_parse_line(l9, &name, &tags, &sz) < 0, "an overflowing size is refused");
	const char *h = "vmjob_hvd_X";
	expect(hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_X", h, job, sizeof(job)) && !strcmp(job, "7"),
	       "job found with our hvd tag");
	expect(!hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_Y", h, job, sizeof(job)),
	       "another hvd's volume is not ours");
	expect(!hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_XX", h, job, sizeof(job)),
	       "a longer hvd tag is not ours");
	expect(!hv_lvs_tags_job("vmjob_hvd_X", h, job, sizeof(job)), "no job tag, no job");
	expect(!hv_lvs_tags_job("vmjob_job_1,vmjob_job_2,vmjob_hvd_X", h, job, sizeof(job)),
	       "two job tags are refused");
	expect(!hv_lvs_tags_job("vmjob_job_..,vmjob_hvd_X", h, job, sizeof(job)),
	       "a job tag that is no job name is refused");
	expect(!hv_lvs_tags_job("", h, job, sizeof(job)), "no tags, no job");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[2], "selftest"))
		return selftest();
	if (argc < 3) {
		fprintf(stderr, "usage: %s CONF create JOB ASKED_MB CPUS | remove JOB | list\n",
			argv[0]);
		return 2;
	}
	hv_log_init(true, LOG_DEBUG);
	struct hv_config cfg;
	struct vj_err err = {0};
	hv_config_defaults(&cfg);
	if (hv_config_load(&cfg, argv[1], true, &err)) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	const char *cmd = argv[2];
	if (!strcmp(cmd, "create") && argc == 6) {
		char why[96];
		uint64_t mb = hv_scratch_size_mb(&cfg, strtoull(argv[4], NULL, 10),
						 (unsigned)strtoul(argv[5], NULL, 10), why, sizeof(why));
		struct hv_scratch s;
		if (hv_scratch_create(&cfg, argv[3], mb, why, &s, &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("created %s %s %llu %s\n", s.job, s.path, (unsigned long long)s.size_mb,
		       s.block ? "block" : "file");
		return 0;
	}
	if (!strcmp(cmd, "remove") && argc == 4) {
		if (hv_scratch_remove(&cfg, argv[3], &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("removed %s\n", argv[3]);
		return 0;
	}
	if (!strcmp(cmd, "list") && argc == 3) {
		int n = 0;
		if (hv_scratch_list(&cfg, print_vol, &n, &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("listed %d\n", n);
		return 0;
	}
	fprintf(stderr, "%s: bad command\n", argv[0]);
	return 2;
}
