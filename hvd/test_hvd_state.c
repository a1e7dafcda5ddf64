/* Unit tests for hvd's crash-safety and density parts that need no VM: CPU
 * lists and NUMA nodes, the domain metadata round trip (written by domain.c,
 * read back by meta.c as a restarted hvd does), instance ownership, request
 * and agent-message validation, and the density knobs in hvd.conf. Built
 * with ASan/UBSan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agentmsg.h"
#include "base/config.h"
#include "base/cpuset.h"
#include "libvirt/domain.h"
#include "kv.h"
#include "libvirt/meta.h"
#include "server/reqparse.h"
#include "names.h"

static int checks, failures;
#define CHECK(cond)                                                               \
	do {                                                                      \
		checks++;                                                         \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                               \
		}                                                                 \
	} while (0)

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

static void test_meta(void)
{
	struct hv_domain_spec s = {
		.name = "vmjob-77", .virt = "qemu", .mem_mb = 512, .cpus = 2, .cpuset = "2-3",
		.job = "77", .image = "img<&>'\"", .uid = 1001, .gid = 1002, .created = 1700000000,
		.instance = "/var/lib/vm&job", .scratch_mb = 2048, .t_image = 10, .t_scratch = 20,
		.t_domain = 300, .t_agent = 4000,
	};
	char *xml = hv_domain_meta_xml(&s);
	CHECK(xml != NULL);
	struct hv_meta m;
	struct vj_err err = {0};
	/* the image name is invalid on purpose: the parser must refuse it */
	CHECK(xml && hv_meta_parse(xml, strlen(xml), &m, &err) < 0);
	free(xml);
	s.image = "minimal";
	xml = hv_domain_meta_xml(&s);
	CHECK(xml && hv_meta_parse(xml, strlen(xml), &m, &err) == 0);
	CHECK(!strcmp(m.job, "77") && !strcmp(m.image, "minimal") && m.uid == 1001 && m.gid == 1002);
	CHECK(!strcmp(m.instance, "/var/lib/vm&job")); /* escaped and unescaped */
	CHECK(m.cpus == 2 && m.mem_mb == 512 && m.scratch_mb == 2048 && !strcmp(m.cores, "2-3"));
	CHECK(m.t_image == 10 && m.t_agent == 4000 && m.created == 1700000000);
	CHECK(!strcmp(m.virt, "qemu"));
	free(xml);
	/* What libvirt returns: the prefixed form inside the full domain XML. */
	s.t_agent = -1;
	xml = hv_domain_xml(&(struct hv_domain_spec){
		.name = "vmjob-77", .virt = "kvm", .mem_mb = 512, .cpus = 2, .cpuset = "2-3",
		.kernel = "/k", .initrd = "/i", .cmdline = "", .overlay = "/o", .scratch = "/s",
		.console_log = "/c", .agent_sock = "/a", .job = "77", .image = "minimal",
		.instance = "/x", .t_image = -1, .t_scratch = -1, .t_domain = -1, .t_agent = -1,
		.pin_vcpus = true, .numa_mode = HV_NUMA_STRICT, .numa_nodes = "0",
		.disk_cache = HV_CACHE_NONE, .disk_io = HV_IO_NATIVE});
	CHECK(xml && hv_meta_parse(xml, strlen(xml), &m, &err) == 0 && m.t_agent == -1 &&
	      !strcmp(m.instance, "/x") && !strcmp(m.virt, "kvm"));
	CHECK(xml && strstr(xml, "<vcpupin vcpu='1' cpuset='3'/>"));
	CHECK(xml && strstr(xml, "<memory mode='strict' nodeset='0'/>"));
	CHECK(xml && strstr(xml, "cache='none' io='native'"));
	free(xml);
	const char *legacy = "<vm><job>5</job><uid>0</uid><gid>0</gid><image>a</image></vm>";
	CHECK(hv_meta_parse(legacy, strlen(legacy), &m, &err) == 0 && m.instance[0] == '\0');
	CHECK(hv_meta_owned(&m, HV_LEGACY_INSTANCE, HV_LEGACY_INSTANCE));
	CHECK(!hv_meta_owned(&m, "/tmp/other", HV_LEGACY_INSTANCE));
	strcpy(m.instance, "/tmp/other");
	CHECK(hv_meta_owned(&m, "/tmp/other", HV_LEGACY_INSTANCE));
	CHECK(!hv_meta_owned(&m, HV_LEGACY_INSTANCE, HV_LEGACY_INSTANCE));
	const char *bad[] = {
		"<vm><job>5</job><uid>x</uid><gid>0</gid><image>a</image></vm>",
		"<vm><job>../5</job><uid>0</uid><gid>0</gid><image>a</image></vm>",
		"<vm><job>5</job><uid>0</uid><gid>0</gid><image>a</image><cores>0;1</cores></vm>",
		"<vm><job>5</job><uid>0</uid><gid>0</gid><image>a</image><virt>xen</virt></vm>",
		"<vm><job>5&bogus;</job><uid>0</uid><gid>0</gid><image>a</image></vm>",
		"<vm><job>5</job><uid>0</uid><gid>0</gid></vm>",
		"<vm><job>5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(hv_meta_parse(bad[i], strlen(bad[i]), &m, &err) < 0);
}

static void test_create_req(void)
{
	struct vj_kvbuf kv;
	struct hv_create_req rq;
	struct vj_err err = {0};
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "job", "12");
	vj_kv_add_str(&kv, "uid", "1000");
	vj_kv_add_str(&kv, "gid", "1000");
	vj_kv_add_str(&kv, "cpus", "2");
	vj_kv_add_str(&kv, "mem_mb", "1024");
	vj_kv_add_str(&kv, "image", "minimal");
	size_t base = kv.len;
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) == 0 && rq.cpus == 2 &&
	      rq.mem_mb == 1024 && rq.cores[0] == '\0' && rq.scratch_mb == 0);
	vj_kv_add_str(&kv, "cores", "0-1");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) == 0 && !strcmp(rq.cores, "0-1"));
	kv.len = base;
	vj_kv_add_str(&kv, "cores", "1-0");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0 && strstr(err.msg, "cores"));
	kv.len = base;
	vj_kv_add_str(&kv, "cores", "0-1'");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0);
	kv.len = base - 1; /* truncated entry */
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0);
	vj_kv_free(&kv);
	char job[VJ_NAME_SZ];
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "job", "a/b");
	CHECK(hv_req_parse_job(kv.data, kv.len, job, &err) < 0);
	vj_kv_free(&kv);
}

static void test_agent_msgs(void)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "status", "0");
	struct vj_frame f = {.type = VJ_EXIT, .stream = 3, .payload = kv.data, .len = (uint32_t)kv.len};
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_END);
	f.stream = 0;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_DROP);
	f.stream = 3;
	f.len = (uint32_t)kv.len - 1;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_MALFORMED);
	uint8_t raw[] = {0xff, 0x00};
	struct vj_frame d = {.type = VJ_STDOUT, .stream = 3, .payload = raw, .len = 2};
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_FORWARD); /* data is not kv */
	d.type = VJ_EXEC; /* host->agent types coming back are dropped */
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
	vj_kv_free(&kv);
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "kernel", "6.1\x1b[31m");
	struct vj_frame h = {.type = VJ_HELLO, .payload = kv.data, .len = (uint32_t)kv.len};
	char k[64], host[64];
	hv_agent_hello_parse(&h, k, sizeof(k), host, sizeof(host));
	CHECK(!strcmp(k, "6.1?[31m") && !strcmp(host, "?"));
	vj_kv_free(&kv);
}

static int load_conf(const char *text, struct hv_config *c, struct vj_err *err)
{
	char path[] = "/tmp/hvd-conf-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) < 0) {
	}
	close(fd);
	hv_config_defaults(c);
	int rc = hv_config_load(c, path, true, err);
	unlink(path);
	return rc;
}

static void test_config(void)
{
	struct hv_config c;
	struct vj_err err = {0};
	CHECK(load_conf("state_dir = /srv/x\n", &c, &err) == 0);
	CHECK(!strcmp(c.instance, "/srv/x") && c.reap_interval == 60 && c.pin_vcpus &&
	      c.numa == HV_NUMA_PREFERRED && c.disk_cache == HV_CACHE_UNSAFE && c.max_vms == 0);
	CHECK(load_conf("instance = a\nmax_vms = 8\nhost_mem_reserve_mb = 2048\npin_vcpus = no\n"
			"numa = strict\ndisk_cache = none\ndisk_io = native\nreap_interval = 0\n",
			&c, &err) == 0);
	CHECK(!strcmp(c.instance, "a") && c.max_vms == 8 && c.host_mem_reserve_mb == 2048 &&
	      !c.pin_vcpus && c.numa == HV_NUMA_STRICT && c.disk_io == HV_IO_NATIVE &&
	      c.reap_interval == 0);
	CHECK(load_conf("disk_io = native\n", &c, &err) < 0 && strstr(err.msg, "disk_cache"));
	CHECK(load_conf("numa = sometimes\n", &c, &err) < 0 && strstr(err.msg, "off, preferred, strict"));
	CHECK(load_conf("pin_vcpus = 1\n", &c, &err) < 0);
	CHECK(load_conf("max_vms = -1\n", &c, &err) < 0);
	CHECK(c.fs_transport == HV_FS_VIRTIOFS); /* the default */
	CHECK(load_conf("fs_transport = serial\n", &c, &err) == 0 && c.fs_transport == HV_FS_SERIAL);
	CHECK(load_conf("fs_transport = 9p\n", &c, &err) < 0 && strstr(err.msg, "fs_transport") &&
	      strstr(err.msg, "virtiofs, serial"));
}

int main(void)
{
	test_cpulist();
	test_numa();
	test_meta();
	test_create_req();
	test_agent_msgs();
	test_config();
	printf("test_hvd_state: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
