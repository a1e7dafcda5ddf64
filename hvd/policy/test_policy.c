/* The site policy: parsing, refusals with file and line, first match wins,
 * defaults for jobs without --vm-image (policy.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "policy/policy.h"

static const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/vmjob-policy-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return path;
}

static int load(struct hv_policy *p, const char *text, struct vj_err *err)
{
	const char *path = write_tmp(text);
	int rc = hv_policy_load(p, path, err);
	unlink(path);
	return rc;
}

static const char *SITE =
	"# grid pool accounts: always a VM, the partition's image\n"
	"[rule grid]\n"
	"partition = grid\n"
	"vm = required\n"
	"default_image = debian12\n"
	"images = debian12, minimal\n"
	"\n"
	"[rule lab]\n"
	"group = vmjob-lab, physics\n"
	"images = *\n"
	"\n"
	"[rule nobody-else]\n"
	"images = minimal\n";

static void decide(const struct hv_policy *p, const char *user, const char *part, const char *group,
		   const char *asked, struct hv_decision *d, int *rc, struct vj_err *err)
{
	const char *groups[] = {group};
	struct hv_job_facts j = {.user = user, .partition = part, .account = "acct", .qos = "normal",
				 .groups = groups, .ngroups = group ? 1 : 0};
	*rc = hv_policy_decide(p, &j, asked, d, err);
}

static void test_decisions(void)
{
	struct hv_policy p = {0};
	struct vj_err err = {0};
	CHECK(load(&p, SITE, &err) == 0);
	CHECK(p.n == 3 && p.any_required);
	CHECK(p.rules[0].line == 2 && p.rules[1].line == 8 && p.rules[2].line == 12);
	struct hv_decision d;
	int rc;
	/* a pool account with no option: the partition's default image */
	decide(&p, "grid001", "grid", "gridpool", "", &d, &rc, &err);
	CHECK(rc == 0 && d.vm && !strcmp(d.image, "debian12") && !strcmp(d.rule, "grid"));
	/* ... an allowed non-default image */
	decide(&p, "grid001", "grid", "gridpool", "minimal", &d, &rc, &err);
	CHECK(rc == 0 && d.vm && !strcmp(d.image, "minimal"));
	/* ... a forbidden one: one line, the image, the rule, what it may use */
	decide(&p, "grid001", "grid", "gridpool", "centos7", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "image 'centos7' refused by rule 'grid'") &&
	      strstr(err.msg, ":2)") && strstr(err.msg, "this job may use debian12, minimal"));
	/* first match wins: a lab member in the grid partition is a grid job */
	decide(&p, "alice", "grid", "vmjob-lab", "centos7", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "rule 'grid'"));
	/* the lab elsewhere: any image; no option: no VM */
	decide(&p, "alice", "debug", "vmjob-lab", "centos7", &d, &rc, &err);
	CHECK(rc == 0 && d.vm && !strcmp(d.image, "centos7") && !strcmp(d.rule, "lab"));
	decide(&p, "alice", "debug", "vmjob-lab", "", &d, &rc, &err);
	CHECK(rc == 0 && !d.vm && !d.image[0]);
	/* everyone else: minimal only */
	decide(&p, "bob", "debug", "users", "debian12", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "rule 'nobody-else'") && strstr(err.msg, "may use minimal"));
	/* a group that only starts like a listed one does not match */
	decide(&p, "bob", "debug", "physics2", "debian12", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "nobody-else"));
	char text[4096];
	CHECK(hv_policy_record(&p, 0, text, sizeof(text)) &&
	      !strcmp(text, "grid\t2\trequired\tdebian12\t,debian12,minimal,\t,grid,\t\t\t\t"));
	CHECK(hv_policy_record(&p, 1, text, sizeof(text)) && strstr(text, "\t,vmjob-lab,physics,"));
	CHECK(!hv_policy_record(&p, 3, text, sizeof(text)));
	CHECK(hv_policy_describe(&p, text, sizeof(text)) < sizeof(text));
	CHECK(strstr(text, "rule grid (line 2): when partition in {grid}: vm required, images: debian12, minimal, default debian12"));
	hv_policy_free(&p);
}

static void test_never_and_none(void)
{
	struct hv_policy p = {0};
	struct vj_err err = {0};
	CHECK(load(&p, "[rule hpc]\npartition = hpc\nvm = never\n", &err) == 0);
	struct hv_decision d;
	int rc;
	decide(&p, "bob", "hpc", NULL, "minimal", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "without a VM"));
	decide(&p, "bob", "hpc", NULL, "", &d, &rc, &err);
	CHECK(rc == 0 && !d.vm);
	/* no rule matches: as without a policy */
	decide(&p, "bob", "debug", NULL, "minimal", &d, &rc, &err);
	CHECK(rc == 0 && d.vm && !strcmp(d.image, "minimal") && !d.rule[0]);
	hv_policy_free(&p);
}

/* Bad files: FILE:LINE: why, and the loaded policy stays as it was. */
static void test_refused(void)
{
	struct hv_policy p = {0};
	struct vj_err err = {0};
	CHECK(load(&p, SITE, &err) == 0);
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"[rule a]\nvm = sometimes\n", ":2: vm: 'sometimes' is not one of"},
		{"[rule a]\ncolour = blue\n", ":2: unknown key 'colour'"},
		{"partition = x\n", ":1: 'partition' outside a [rule NAME] section"},
		{"[rules]\n", "sections are [rule NAME]"},
		{"[rule a]\n[rule a]\n", ":2: [rule a] again"},
		{"[rule a]\nvm = required\n", ":1: [rule a]: vm = required needs default_image"},
		{"[rule a]\nimages = x\ndefault_image = y\n", "default_image y is not in its images"},
		{"[rule a]\nimages = a b\n", "images: 'a b' is not a name"},
		{"[rule a]\nimages = ../x\n", "not an image name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(&p, bad[i].text, &err);
		CHECK(rc == -1);
		if (rc == -1 && !strstr(err.msg, bad[i].why))
			fprintf(stderr, "want '%s', got '%s'\n", bad[i].why, err.msg);
		CHECK(rc == -1 && strstr(err.msg, bad[i].why) && strstr(err.msg, "/tmp/vmjob-policy-"));
	}
	CHECK(p.n == 3 && !strcmp(p.rules[0].name, "grid")); /* the old one stayed */
	CHECK(hv_policy_load(&p, "/nonexistent/policy.conf", &err) == -1 && p.n == 3);
	hv_policy_free(&p);
}

/* The example every site starts from parses and says what it says. */
static void test_example(void)
{
	struct hv_policy p = {0};
	struct vj_err err = {0};
	CHECK(hv_policy_load(&p, "etc/policy.conf", &err) == 0);
	CHECK(p.n == 4 && p.any_required);
	struct hv_decision d;
	int rc;
	decide(&p, "grid001", "grid", "gridpool", "", &d, &rc, &err);
	CHECK(rc == 0 && d.vm && !strcmp(d.image, "debian12"));
	decide(&p, "bob", "metal", "users", "minimal", &d, &rc, &err);
	CHECK(rc == -1 && strstr(err.msg, "without a VM"));
	hv_policy_free(&p);
}

int main(void)
{
	test_example();
	test_decisions();
	test_never_and_none();
	test_refused();
	return CHECK_DONE();
}
