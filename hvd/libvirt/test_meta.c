/* The domain metadata round trip: written by meta.c (alone, and inside the
 * domain XML), read back as a restarted hvd does, and instance ownership.
 * Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "libvirt/domain.h"
#include "libvirt/meta.h"

static struct hv_vmdesc desc(void)
{
	struct hv_vmdesc d;
	hv_vmdesc_init(&d);
	strcpy(d.job, "77");
	strcpy(d.image, "img<&>'\"");
	strcpy(d.virt, "qemu");
	strcpy(d.cores, "2-3");
	strcpy(d.instance, "/var/lib/vm&job");
	d.uid = 1001, d.gid = 1002, d.cpus = 2, d.mem_mb = 512, d.scratch_mb = 2048;
	d.created = 1700000000;
	d.t_image = 10, d.t_scratch = 20, d.t_domain = 300, d.t_agent = 4000;
	return d;
}

static void test_meta(void)
{
	struct hv_vmdesc d = desc(), m;
	struct vj_err err = {0};
	char *xml = hv_meta_xml(&d);
	CHECK(xml != NULL);
	/* the image name is invalid on purpose: the parser must refuse it */
	CHECK(xml && hv_meta_parse(xml, strlen(xml), &m, &err) < 0 && strstr(err.msg, "image"));
	free(xml);
	strcpy(d.image, "minimal");
	xml = hv_meta_xml(&d);
	CHECK(xml && !strncmp(xml, "<vm>", 4)); /* bare: what virDomainSetMetadata takes */
	CHECK(xml && hv_meta_parse(xml, strlen(xml), &m, &err) == 0);
	CHECK(!strcmp(m.job, "77") && !strcmp(m.image, "minimal") && m.uid == 1001 && m.gid == 1002);
	CHECK(!strcmp(m.instance, "/var/lib/vm&job")); /* escaped and unescaped */
	CHECK(m.cpus == 2 && m.mem_mb == 512 && m.scratch_mb == 2048 && !strcmp(m.cores, "2-3"));
	CHECK(m.t_image == 10 && m.t_agent == 4000 && m.created == 1700000000);
	CHECK(!strcmp(m.virt, "qemu"));
	free(xml);
	/* What libvirt returns: the element in hvd's namespace, prefixed. */
	d.t_agent = -1;
	const char *prefixed =
		"<vmjob:vm xmlns:vmjob='" HV_METADATA_NS "'><vmjob:job>77</vmjob:job>"
		"<vmjob:uid>5</vmjob:uid><vmjob:gid>6</vmjob:gid><vmjob:image>a</vmjob:image>"
		"<vmjob:t_image>12</vmjob:t_image><vmjob:future>x</vmjob:future></vmjob:vm>";
	CHECK(hv_meta_parse(prefixed, strlen(prefixed), &m, &err) == 0 && m.uid == 5 &&
	      m.t_image == 12 && m.t_agent == -1 && m.cpus == 1 && !strcmp(m.virt, "-"));
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
		"<vm><job>5</job><uid>4294967295</uid><gid>0</gid><image>a</image></vm>",
		"<other><job>5</job><uid>0</uid><gid>0</gid><image>a</image></other>",
		"<!DOCTYPE vm [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
		"<vm><job>&e;</job><uid>0</uid><gid>0</gid><image>a</image></vm>",
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
