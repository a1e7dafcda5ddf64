/* The domain metadata round trip: written by domain.c, read back by meta.c as a restarted hvd does, and instance ownership. Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "libvirt/domain.h"
#include "libvirt/meta.h"

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

int main(void)
{
	test_meta();
	return CHECK_DONE();
}
