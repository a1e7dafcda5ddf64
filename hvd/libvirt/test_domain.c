/* The domain XML hvd gives libvirt (domxml.c): read back with XPath, every
 * value arrives intact whatever it holds, and the devices are those each
 * setting asks for. Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>

#include "check.h"
#include "libvirt/domain.h"
#include "libvirt/xml.h"

/* The string value of expr in xml ("" if absent; "!" if xml is not XML),
 * with vmjob: bound to hvd's metadata namespace. */
static const char *q(const char *xml, const char *expr)
{
	static char out[4096];
	struct vj_err err;
	cleanup_xmldoc xmlDocPtr doc = xml ? hv_xml_parse(xml, strlen(xml), "test", &err) : NULL;
	if (!doc)
		return "!";
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "vmjob", BAD_CAST HV_METADATA_NS);
	char full[512];
	snprintf(full, sizeof(full), "string(%s)", expr);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST full, ctx);
	snprintf(out, sizeof(out), "%s", o && o->stringval ? (const char *)o->stringval : "");
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return out;
}

#define IS(xml, expr, want) (strcmp(q(xml, expr), want) == 0)

static struct hv_domain_spec spec(void)
{
	struct hv_domain_spec s = {
		.name = "vmjob-1", .kernel = "/c/k", .initrd = "/c/i",
		.cmdline = "console=ttyS0 a='<&>\"' ]]>", .overlay = "/v/root.qcow2",
		.scratch = "/v/scratch.img", .console_log = "/r/console.log",
		.agent_sock = "/r/agent.sock", .pin_vcpus = true,
	};
	hv_vmdesc_init(&s.d);
	strcpy(s.d.job, "1");
	strcpy(s.d.image, "img");
	strcpy(s.d.virt, "qemu");
	strcpy(s.d.cores, "0-1");
	s.d.uid = s.d.gid = 5001;
	s.d.cpus = 2;
	s.d.mem_mb = 512;
	return s;
}

static void test_xml(void)
{
	struct hv_domain_spec s = spec();
	char *xml = hv_domain_xml(&s);
	CHECK(xml != NULL);
	CHECK(IS(xml, "/domain/@type", "qemu"));
	/* TCG: its translation cache bounded (part of vm_memory_overhead_mb), no host CPU model */
	CHECK(IS(xml, "/domain/features/tcg/tb-cache", HV_TCG_TB_CACHE_MIB) &&
	      IS(xml, "/domain/features/tcg/tb-cache/@unit", "MiB") && IS(xml, "count(/domain/cpu)", "0"));
	CHECK(IS(xml, "/domain/name", "vmjob-1"));
	CHECK(IS(xml, "/domain/os/cmdline", "console=ttyS0 a='<&>\"' ]]>"));
	CHECK(IS(xml, "count(/domain/features/acpi)", "1"));
	CHECK(IS(xml, "/domain/vcpu", "2") && IS(xml, "/domain/vcpu/@cpuset", "0-1"));
	CHECK(IS(xml, "/domain/cputune/vcpupin[@vcpu='1']/@cpuset", "1"));
	CHECK(IS(xml, "/domain/memory", "512") && IS(xml, "/domain/memory/@unit", "MiB"));
	CHECK(IS(xml, "/domain/metadata/vmjob:vm/vmjob:uid", "5001"));
	CHECK(IS(xml, "/domain/metadata/vmjob:vm/vmjob:created", "1970-01-01T00:00:00Z"));
	CHECK(IS(xml, "count(/domain/metadata/vmjob:vm/vmjob:t_agent)", "0")); /* not yet */
	CHECK(IS(xml, "/domain/devices/channel/target[@name='org.vmjob.agent']/../source/@path",
		 "/r/agent.sock"));
	CHECK(IS(xml, "/domain/on_poweroff", "destroy") && IS(xml, "/domain/on_crash", "destroy"));
	CHECK(IS(xml, "/domain/devices/disk[target/@dev='vdb']/@type", "file") &&
	      IS(xml, "/domain/devices/disk[target/@dev='vdb']/source/@file", "/v/scratch.img"));
	CHECK(IS(xml, "/domain/devices/disk[target/@dev='vda']/driver/@type", "qcow2"));
	CHECK(IS(xml, "count(/domain/devices/interface)", "0"));
	free(xml);
	/* An LVM scratch volume is attached as a block device. */
	s.scratch = "/dev/vg0/vmjob_1";
	s.scratch_block = true;
	s.net_user = true;
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "/domain/devices/disk[target/@dev='vdb']/@type", "block") &&
	      IS(xml, "/domain/devices/disk[target/@dev='vdb']/source/@dev", "/dev/vg0/vmjob_1"));
	CHECK(IS(xml, "/domain/devices/interface[@type='user']/model/@type", "virtio"));
	free(xml);
	/* network = bridge: a tap of ours on the site bridge, the derived MAC,
	 * clean-traffic when libvirt has it. */
	s.net_user = false;
	s.bridge = "br-site";
	s.mac = "02:aa:bb:cc:dd:ee";
	s.tap = "vjaabbccddeeff";
	s.net_filter = true;
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "count(/domain/devices/interface)", "1"));
	CHECK(IS(xml, "/domain/devices/interface[@type='bridge']/source/@bridge", "br-site") &&
	      IS(xml, "/domain/devices/interface/mac/@address", "02:aa:bb:cc:dd:ee") &&
	      IS(xml, "/domain/devices/interface/target/@dev", "vjaabbccddeeff") &&
	      IS(xml, "/domain/devices/interface/model/@type", "virtio") &&
	      IS(xml, "/domain/devices/interface/filterref/@filter", "clean-traffic"));
	free(xml);
	s.net_filter = false;
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "count(/domain/devices/interface/filterref)", "0"));
	free(xml);
	s.bridge = NULL;
	strcpy(s.d.virt, "kvm");
	s.d.cores[0] = '\0';
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "/domain/@type", "kvm") && !strstr(xml, "cpuset") && !strstr(xml, "cputune"));
	/* KVM: the host's CPU model, no TCG cache bound */
	CHECK(IS(xml, "/domain/cpu/@mode", "host-passthrough") && IS(xml, "/domain/cpu/@migratable", "off") &&
	      IS(xml, "count(/domain/features/tcg)", "0"));
	free(xml);
	/* Hostile text in every string field stays text. */
	s.name = "vmjob-<x>";
	s.console_log = "/r/a'b\"c&d</source>";
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "/domain/name", "vmjob-<x>") &&
	      IS(xml, "/domain/devices/serial/source/@path", "/r/a'b\"c&d</source>") &&
	      IS(xml, "count(/domain/devices/serial/source)", "1"));
	free(xml);
}

/* The gateway's two transports in the domain XML. */
static void test_xml_fs(void)
{
	const char *socks[] = {"/r/fs.0.sock", "/r/fs.1.sock"};
	struct hv_domain_spec s = spec();
	s.d.cores[0] = '\0';
	s.fs_socks = socks, s.nfs = 2, s.fs_virtiofs = true;
	char *xml = hv_domain_xml(&s);
	CHECK(IS(xml, "/domain/memoryBacking/source/@type", "memfd") &&
	      IS(xml, "/domain/memoryBacking/access/@mode", "shared"));
	CHECK(IS(xml, "/domain/devices/filesystem[target/@dir='vmjob.fs.1']/source/@socket",
		 "/r/fs.1.sock") &&
	      IS(xml, "/domain/devices/filesystem[target/@dir='vmjob.fs.1']/driver/@type", "virtiofs"));
	CHECK(IS(xml, "/domain/devices/filesystem[target/@dir='vmjob.fs.0']/source/@socket",
		 "/r/fs.0.sock") && !strstr(xml, "org.vmjob.fs."));
	free(xml);
	s.fs_virtiofs = false;
	xml = hv_domain_xml(&s);
	CHECK(IS(xml, "/domain/devices/channel[target/@name='org.vmjob.fs.1']/source/@path",
		 "/r/fs.1.sock") &&
	      IS(xml, "/domain/devices/channel[target/@name='org.vmjob.fs.1']/source/@mode", "bind"));
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
