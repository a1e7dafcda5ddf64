/* Which user QEMU runs as, read from libvirt's capabilities (qemuuser.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "libvirt/qemuuser.h"

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
	test_qemu_user();
	return CHECK_DONE();
}
