#include "qemuuser.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domain.h"
#include "xml.h"

/* "+N" or "N", N decimal below (uint32_t)-1, which is no real id. Consumes
 * up to stop. */
static bool id_parse(const char *s, const char *stop, uint32_t *out)
{
	if (s < stop && *s == '+')
		s++;
	if (s == stop || stop - s > 10)
		return false;
	uint64_t v = 0;
	for (; s < stop; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "+UID:+GID", as libvirt writes qemu.conf's user and group. */
static int label_parse(const char *l, uid_t *uid, gid_t *gid, struct vj_err *err)
{
	const char *end = l + strlen(l), *colon = strchr(l, ':');
	uint32_t u, g;
	if (!colon || !id_parse(l, colon, &u) || !id_parse(colon + 1, end, &g))
		return vj_err_set(err, EINVAL, "libvirt's DAC base label '%.40s' is not +UID:+GID", l);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/* The text of the base label of one domain type in the dac secmodel. */
static int type_label(xmlDocPtr doc, xmlNodePtr dac, const char *type, char *out, size_t outsz)
{
	char expr[64];
	snprintf(expr, sizeof(expr), "baselabel[@type='%s']", type);
	cleanup_xpath xmlXPathObjectPtr o = hv_xml_find(doc, dac, expr);
	return o ? hv_xml_text(o->nodesetval->nodeTab[0], out, outsz) : -1;
}

int hv_qemu_user_parse(const char *caps, const char *virt, uid_t *uid, gid_t *gid,
		       struct vj_err *err)
{
	const char *other = !strcmp(virt, "kvm") ? "qemu" : "kvm";
	cleanup_xmldoc xmlDocPtr doc = hv_xml_parse(caps, strlen(caps), "libvirt's capabilities", err);
	if (!doc)
		return -1;
	cleanup_xpath xmlXPathObjectPtr dac =
		hv_xml_find(doc, NULL, "//secmodel[normalize-space(model)='dac']");
	if (!dac) {
		/* No DAC driver: libvirt leaves QEMU running as root. */
		*uid = 0;
		*gid = 0;
		return 0;
	}
	xmlNodePtr n = dac->nodesetval->nodeTab[0];
	char label[64];
	if (type_label(doc, n, virt, label, sizeof(label)) &&
	    type_label(doc, n, other, label, sizeof(label)))
		return vj_err_set(err, EINVAL,
				  "libvirt's capabilities: the dac secmodel has no base label "
				  "for domain type %s or %s", virt, other);
	return label_parse(label, uid, gid, err);
}

int hv_qemu_user(const char *virt, uid_t *uid, gid_t *gid, struct vj_err *err)
{
	virConnectPtr c = hv_libvirt_get(err);
	if (!c)
		return -1;
	char *caps = virConnectGetCapabilities(c);
	int rc;
	if (!caps) {
		rc = vj_err_set(err, EIO, "libvirt cannot report its capabilities: %s",
				hv_libvirt_errmsg());
	} else {
		rc = hv_qemu_user_parse(caps, virt, uid, gid, err);
	}
	free(caps);
	virConnectClose(c);
	return rc;
}
