/* Unit tests for the parts of hvd that face remote or request input: the
 * catalogue parser, the domain XML builder and the reading of libvirt's
 * capabilities. Built with ASan/UBSan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalogue.h"
#include "libvirt/domain.h"
#include "images/fetch.h"
#include "libvirt/qemuuser.h"

static int failures;
#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                               \
		}                                                                 \
	} while (0)

#define SHA_A "5956faca7d0edde3adc94d38577c2c1d113646f2bb8b5c718edb0294c1c10c83"
#define SHA_B "26f2e57c99338feaf71c46fa4babdc7e1a6c115943002d109fdb746667104f5f"

static int parse(const char *text, struct hv_catalogue *c, struct vj_err *err)
{
	return hv_catalogue_parse(text, strlen(text), "http://repo.example/img/catalogue.conf", c, err);
}

static void test_catalogue(void)
{
	struct hv_catalogue c;
	struct vj_err err = {0};
	const char *good = "# comment\n[minimal]\ndescription = x\nroot = minimal-root.img\n"
			   "root_sha256 = " SHA_A "\nkernel = /abs/vmlinuz\nkernel_sha256 = " SHA_B
			   "\ninitrd = https://other.example/initrd\ninitrd_sha256 = " SHA_A
			   "\ncmdline = console=ttyS0 quiet\nroot_size = 123\n\n[second]\n"
			   "root=r\nroot_sha256=" SHA_A "\nkernel=k\nkernel_sha256=" SHA_A
			   "\ninitrd=i\ninitrd_sha256=" SHA_A "\nroot_format = qcow2\n";
	CHECK(parse(good, &c, &err) == 0);
	CHECK(c.n == 2);
	if (c.n == 2) {
		CHECK(!strcmp(c.images[0].root.url, "http://repo.example/img/minimal-root.img"));
		CHECK(!strcmp(c.images[0].kernel.url, "http://repo.example/abs/vmlinuz"));
		CHECK(!strcmp(c.images[0].initrd.url, "https://other.example/initrd"));
		CHECK(!strcmp(c.images[0].cmdline, "console=ttyS0 quiet"));
		CHECK(!strcmp(c.images[0].root_format, "raw"));
		CHECK(!strcmp(c.images[1].root_format, "qcow2"));
	}
	hv_catalogue_free(&c);

	/* Hostile or broken input is refused with the line number. */
	const char *bad[] = {
		"[../etc]\n",
		"root = x\n",
		"[a]\nroot_sha256 = ../../etc/passwd\n",
		"[a]\nroot_sha256 = " SHA_A "X\n",
		"[a]\nroot_format = vmdk\n",
		"[a]\nnovalue\n",
		"[a\n",
		"[a]\n[a]\n",
		"[a]\nroot = r\n", /* incomplete image */
		"[a]\ncmdline = a\001b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vj_err_clear(&err);
		int rc = parse(bad[i], &c, &err);
		CHECK(rc == -1);
		if (rc == 0)
			hv_catalogue_free(&c);
		CHECK(strstr(err.msg, "catalogue http://repo.example/img/catalogue.conf") != NULL);
	}
	vj_err_clear(&err);
	CHECK(hv_catalogue_parse("[a]\0", 4, "u", &c, &err) == -1);
}

static void test_names(void)
{
	CHECK(hv_name_valid("12345"));
	CHECK(hv_name_valid("minimal-1.0_x"));
	CHECK(!hv_name_valid(""));
	CHECK(!hv_name_valid(".."));
	CHECK(!hv_name_valid("a/b"));
	CHECK(!hv_name_valid("-rf"));
	CHECK(!hv_name_valid("a b"));
	char long_name[80];
	memset(long_name, 'a', 65);
	long_name[VJ_NAME_MAX + 1] = '\0';
	CHECK(!hv_name_valid(long_name));
}

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

static int qemu_user(const char *caps, const char *virt, unsigned *u, unsigned *g)
{
	uid_t uid = 4242;
	gid_t gid = 4242;
	struct vj_err err = {0};
	int rc = hv_qemu_user_parse(caps, virt, &uid, &gid, &err);
	*u = (unsigned)uid;
	*g = (unsigned)gid;
	return rc;
}

#define SECMODEL_NONE "<secmodel>\n<model>none</model>\n<doi>0</doi>\n</secmodel>\n"
#define DAC(labels) "<secmodel>\n<model>dac</model>\n<doi>0</doi>\n" labels "</secmodel>\n"
#define CAPS(secmodels) "<capabilities><host><uuid>x</uuid>" secmodels "</host><guest>" \
	"<os_type>hvm</os_type></guest></capabilities>"

static void test_qemu_user(void)
{
	unsigned u, g;
	const char *both = CAPS(SECMODEL_NONE DAC("<baselabel type='kvm'>+107:+108</baselabel>\n"
						  "<baselabel type='qemu'>+999:+994</baselabel>\n"));
	CHECK(qemu_user(both, "kvm", &u, &g) == 0 && u == 107 && g == 108);
	CHECK(qemu_user(both, "qemu", &u, &g) == 0 && u == 999 && g == 994);
	/* One type only: the other domain type falls back to it. */
	const char *kvm = CAPS(DAC("<baselabel type=\"kvm\">+64055:+64055</baselabel>"));
	CHECK(qemu_user(kvm, "qemu", &u, &g) == 0 && u == 64055 && g == 64055);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='qemu'>0:0</baselabel>")), "kvm", &u, &g) == 0 &&
	      u == 0 && g == 0);
	/* No DAC driver: QEMU runs as root. */
	CHECK(qemu_user(CAPS(SECMODEL_NONE), "kvm", &u, &g) == 0 && u == 0 && g == 0);
	CHECK(qemu_user(CAPS(""), "qemu", &u, &g) == 0 && u == 0 && g == 0);
	/* A <model>dac</model> outside a secmodel is not one. */
	CHECK(qemu_user(CAPS("<model>dac</model><baselabel type='kvm'>+5:+5</baselabel>"), "kvm", &u,
			&g) == 0 && u == 0);
	/* Anything unexpected is an error, never a guess. */
	CHECK(qemu_user(CAPS(DAC("")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>qemu:kvm</baselabel>")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+999</baselabel>")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+999:</baselabel>")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+-1:+1</baselabel>")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+4294967295:+1</baselabel>")), "kvm", &u,
			&g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+99999999999:+1</baselabel>")), "kvm", &u,
			&g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+1:+1:+1</baselabel>")), "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+1:+1")), "kvm", &u, &g) < 0);
	CHECK(qemu_user("<capabilities><secmodel><model>dac</model>", "kvm", &u, &g) < 0);
	CHECK(qemu_user(CAPS(DAC("<baselabel type='kvm'>+4294967294:+1</baselabel>")), "kvm", &u,
			&g) == 0 && u == 4294967294u && g == 1);
}

int main(void)
{
	struct vj_err err;
	if (hv_fetch_global_init(&err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	test_catalogue();
	test_names();
	test_xml();
	test_xml_fs();
	test_qemu_user();
	if (failures) {
		fprintf(stderr, "test_hvd: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_hvd: ok\n");
	return 0;
}
