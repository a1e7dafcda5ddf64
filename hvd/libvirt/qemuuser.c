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

/* needle in [p, end), or NULL */
static const char *find(const char *p, const char *end, const char *needle)
{
	return p && p < end ? memmem(p, (size_t)(end - p), needle, strlen(needle)) : NULL;
}

/* The text of the first <tag ...>TEXT</tag> in [p, end) whose opening tag
 * contains attr (NULL: any), or NULL. No nested elements, no entities: the
 * two elements read here hold a word and a label. */
static const char *elem_text(const char *p, const char *end, const char *tag, const char *attr,
			     size_t *len)
{
	size_t tl = strlen(tag);
	for (const char *o = find(p, end, "<"); o; o = find(o + 1, end, "<")) {
		const char *q = o + 1;
		if ((size_t)(end - q) <= tl || memcmp(q, tag, tl) ||
		    (q[tl] != '>' && q[tl] != ' ' && q[tl] != '\t' && q[tl] != '\n'))
			continue;
		const char *gt = find(q, end, ">");
		if (!gt)
			return NULL;
		if (attr && !find(q, gt, attr))
			continue;
		const char *text = gt + 1, *lt = find(text, end, "<");
		if (!lt || (size_t)(end - lt) < tl + 3 || lt[1] != '/' || memcmp(lt + 2, tag, tl) ||
		    lt[2 + tl] != '>')
			return NULL;
		*len = (size_t)(lt - text);
		return text;
	}
	return NULL;
}

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
static int label_parse(const char *l, size_t len, uid_t *uid, gid_t *gid, struct vj_err *err)
{
	const char *end = l + len, *colon = memchr(l, ':', len);
	uint32_t u, g;
	if (!colon || !id_parse(l, colon, &u) || !id_parse(colon + 1, end, &g))
		return vj_err_set(err, EINVAL, "libvirt's DAC base label '%.*s' is not +UID:+GID",
				  len > 40 ? 40 : (int)len, l);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/* The base label of one domain type inside a dac secmodel, or NULL. */
static const char *type_label(const char *s, const char *e, const char *type, size_t *len)
{
	char a1[32], a2[32];
	snprintf(a1, sizeof(a1), "type='%s'", type);
	snprintf(a2, sizeof(a2), "type=\"%s\"", type);
	const char *l = elem_text(s, e, "baselabel", a1, len);
	return l ? l : elem_text(s, e, "baselabel", a2, len);
}

int hv_qemu_user_parse(const char *caps, const char *virt, uid_t *uid, gid_t *gid,
		       struct vj_err *err)
{
	const char *end = caps + strlen(caps);
	const char *other = !strcmp(virt, "kvm") ? "qemu" : "kvm";
	for (const char *s = find(caps, end, "<secmodel>"); s; s = find(s + 1, end, "<secmodel>")) {
		const char *e = find(s, end, "</secmodel>");
		if (!e)
			return vj_err_set(err, EINVAL, "libvirt's capabilities: unterminated <secmodel>");
		size_t ml, ll;
		const char *model = elem_text(s, e, "model", NULL, &ml);
		if (!model || ml != 3 || memcmp(model, "dac", 3))
			continue;
		const char *l = type_label(s, e, virt, &ll);
		if (!l)
			l = type_label(s, e, other, &ll);
		if (!l)
			return vj_err_set(err, EINVAL,
					  "libvirt's capabilities: the dac secmodel has no base label "
					  "for domain type %s or %s", virt, other);
		return label_parse(l, ll, uid, gid, err);
	}
	/* No DAC driver: libvirt leaves QEMU running as root. */
	*uid = 0;
	*gid = 0;
	return 0;
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
