/* The domain XML hvd gives libvirt (domain.c): every value escaped, the devices each setting asks for. Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "libvirt/domain.h"

static void test_xml(void)
{
	struct hv_domain_spec s = {
		.name = "vmjob-1", .virt = "qemu", .mem_mb = 512, .cpus = 2, .cpuset = "0-1",
		.kernel = "/c/k", .initrd = "/c/i", .cmdline = "console=ttyS0 a='<&>\"'",
		.overlay = "/v/root.qcow2", .scratch = "/v/scratch.img", .console_log = "/r/console.log",
		.agent_sock = "/r/agent.sock", .job = "1", .image = "img", .uid = 5001, .gid = 5001,
		.created = 0,
	};
	char *xml = hv_domain_xml(&s);
	CHECK(xml != NULL);
	if (!xml)
		return;
	CHECK(strstr(xml, "<domain type='qemu'>"));
	CHECK(strstr(xml, "<cmdline>console=ttyS0 a=&apos;&lt;&amp;&gt;&quot;&apos;</cmdline>"));
	CHECK(strstr(xml, "<features><acpi/></features>"));
	CHECK(strstr(xml, "cpuset='0-1'"));
	CHECK(strstr(xml, "<vmjob:uid>5001</vmjob:uid>"));
	CHECK(strstr(xml, "<target type='virtio' name='org.vmjob.agent'/>"));
	CHECK(strstr(xml, "<on_poweroff>destroy</on_poweroff>"));
	CHECK(strstr(xml, "<vmjob:created>1970-01-01T00:00:00Z</vmjob:created>"));
	CHECK(strstr(xml, "<disk type='file' device='disk'>") &&
	      strstr(xml, "<source file='/v/scratch.img'/>"));
	free(xml);
	/* An LVM scratch volume is attached as a block device. */
	s.scratch = "/dev/vg0/vmjob_1";
	s.scratch_block = true;
	xml = hv_domain_xml(&s);
	CHECK(xml && strstr(xml, "<disk type='block' device='disk'>") &&
	      strstr(xml, "<source dev='/dev/vg0/vmjob_1'/>") && !strstr(xml, "scratch.img"));
	free(xml);
	s.virt = "kvm";
	s.cpuset = "";
	xml = hv_domain_xml(&s);
	CHECK(xml && strstr(xml, "<domain type='kvm'>") && !strstr(xml, "cpuset"));
	free(xml);
}

/* The gateway's two transports in the domain XML. */
static void test_xml_fs(void)
{
	const char *socks[] = {"/r/fs.0.sock", "/r/fs.1.sock"};
	struct hv_domain_spec s = {
		.name = "vmjob-1", .virt = "qemu", .mem_mb = 512, .cpus = 1, .cpuset = "",
		.kernel = "/c/k", .initrd = "/c/i", .cmdline = "", .overlay = "/v/root.qcow2",
		.scratch = "/v/scratch.img", .console_log = "/r/console.log",
		.agent_sock = "/r/agent.sock", .job = "1", .image = "img",
		.fs_socks = socks, .nfs = 2, .fs_virtiofs = true,
	};
	char *xml = hv_domain_xml(&s);
	CHECK(xml && strstr(xml, "<memoryBacking><source type='memfd'/><access mode='shared'/>"
				 "</memoryBacking>"));
	CHECK(xml && strstr(xml, "<filesystem type='mount' accessmode='passthrough'>\n"
				 "      <driver type='virtiofs' queue='1024'/>\n"
				 "      <source socket='/r/fs.1.sock'/>\n"
				 "      <target dir='vmjob.fs.1'/>\n    </filesystem>"));
	CHECK(xml && strstr(xml, "<source socket='/r/fs.0.sock'/>") && !strstr(xml, "org.vmjob.fs."));
	free(xml);
	s.fs_virtiofs = false;
	xml = hv_domain_xml(&s);
	CHECK(xml && strstr(xml, "<source mode='bind' path='/r/fs.1.sock'/>\n"
				 "      <target type='virtio' name='org.vmjob.fs.1'/>"));
	CHECK(xml && !strstr(xml, "memoryBacking") && !strstr(xml, "<filesystem"));
	free(xml);
	/* No exports: nothing to share memory for. */
	s.fs_virtiofs = true;
	s.nfs = 0;
	xml = hv_domain_xml(&s);
	CHECK(xml && !strstr(xml, "memoryBacking") && !strstr(xml, "<filesystem"));
	free(xml);
}

int main(void)
{
	test_xml();
	test_xml_fs();
	return CHECK_DONE();
}
