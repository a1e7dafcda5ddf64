#include "meta.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalogue.h"

static bool isalnum_c(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Find <[prefix:]name>text</...> and copy the unescaped text into out.
 * 1 found, 0 absent, -1 malformed or too long. */
static int field(const char *xml, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < len; i++) {
		if (xml[i] != '<')
			continue;
		size_t j = i + 1;
		/* an optional namespace prefix */
		size_t k = j;
		while (k < len && (isalnum_c(xml[k]) || xml[k] == '_' || xml[k] == '-'))
			k++;
		if (k < len && xml[k] == ':')
			j = k + 1;
		if (j + nl >= len || memcmp(xml + j, name, nl) || xml[j + nl] != '>')
			continue;
		size_t o = 0;
		for (size_t p = j + nl + 1; p < len; p++) {
			char c = xml[p];
			if (c == '<') {
				out[o] = '\0';
				return 1;
			}
			if (c == '&') {
				static const struct { const char *ent; char ch; } ents[] = {
					{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
					{"&apos;", '\''}, {"&quot;", '"'}};
				bool ok = false;
				for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]); e++) {
					size_t el = strlen(ents[e].ent);
					if (p + el <= len && !memcmp(xml + p, ents[e].ent, el)) {
						c = ents[e].ch;
						p += el - 1;
						ok = true;
						break;
					}
				}
				if (!ok)
					return -1;
			}
			if (c == '\0' || o + 1 >= outsz)
				return -1;
			out[o++] = c;
		}
		return -1; /* no closing tag */
	}
	return 0;
}

static int get_str(const char *xml, size_t len, const char *name, char *out, size_t outsz,
		   bool required, struct vj_err *err)
{
	int r = field(xml, len, name, out, outsz);
	if (r < 0)
		return vj_err_set(err, EINVAL, "metadata field '%s' is malformed or too long", name);
	if (r == 0) {
		out[0] = '\0';
		if (required)
			return vj_err_set(err, EINVAL, "metadata field '%s' is missing", name);
	}
	return 0;
}

static int get_num(const char *xml, size_t len, const char *name, uint64_t max, bool required,
		   uint64_t *out, struct vj_err *err)
{
	char buf[32];
	if (get_str(xml, len, name, buf, sizeof(buf), required, err))
		return -1;
	if (!buf[0])
		return 1; /* absent; *out untouched */
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end || buf[0] < '0' || buf[0] > '9' || v > max)
		return vj_err_set(err, EINVAL, "metadata field '%s' is not a number <= %llu", name,
				  (unsigned long long)max);
	*out = v;
	return 0;
}

static bool cores_ok(const char *s)
{
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && *s != ',' && *s != '-')
			return false;
	return true;
}

int hv_meta_parse(const char *xml, size_t len, struct hv_meta *m, struct vj_err *err)
{
	memset(m, 0, sizeof(*m));
	m->t_image = m->t_scratch = m->t_domain = m->t_agent = -1;
	uint64_t v;
	char created[32];
	if (get_str(xml, len, "job", m->job, sizeof(m->job), true, err) ||
	    get_str(xml, len, "image", m->image, sizeof(m->image), true, err) ||
	    get_str(xml, len, "instance", m->instance, sizeof(m->instance), false, err) ||
	    get_str(xml, len, "virt", m->virt, sizeof(m->virt), false, err) ||
	    get_str(xml, len, "cores", m->cores, sizeof(m->cores), false, err) ||
	    get_str(xml, len, "created", created, sizeof(created), false, err))
		return -1;
	if (!vj_name_valid(m->job) || !vj_name_valid(m->image))
		return vj_err_set(err, EINVAL, "metadata names an invalid job or image");
	if (!cores_ok(m->cores))
		return vj_err_set(err, EINVAL, "metadata field 'cores' is not a CPU list");
	if (m->virt[0] && strcmp(m->virt, "kvm") && strcmp(m->virt, "qemu"))
		return vj_err_set(err, EINVAL, "metadata field 'virt' is neither kvm nor qemu");
	if (!m->virt[0])
		strcpy(m->virt, "-");
	if (get_num(xml, len, "uid", UINT32_MAX - 1, true, &v, err) < 0)
		return -1;
	m->uid = (uid_t)v;
	if (get_num(xml, len, "gid", UINT32_MAX - 1, true, &v, err) < 0)
		return -1;
	m->gid = (gid_t)v;
	v = 1;
	if (get_num(xml, len, "cpus", 1024, false, &v, err) < 0)
		return -1;
	m->cpus = (unsigned)v;
	v = 0;
	if (get_num(xml, len, "mem_mb", 16u << 20, false, &v, err) < 0)
		return -1;
	m->mem_mb = (unsigned)v;
	if (get_num(xml, len, "scratch_mb", 16u << 20, false, &m->scratch_mb, err) < 0)
		return -1;
	long *t[] = {&m->t_image, &m->t_scratch, &m->t_domain, &m->t_agent};
	const char *tn[] = {"t_image", "t_scratch", "t_domain", "t_agent"};
	for (int i = 0; i < 4; i++) {
		int r = get_num(xml, len, tn[i], 1u << 30, false, &v, err);
		if (r < 0)
			return -1;
		if (r == 0)
			*t[i] = (long)v;
	}
	struct tm tm = {0};
	char *end = created[0] ? strptime(created, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	m->created = end && !*end ? timegm(&tm) : time(NULL);
	return 0;
}

bool hv_meta_owned(const struct hv_meta *m, const char *instance, const char *default_instance)
{
	if (!m->instance[0])
		return !strcmp(instance, default_instance);
	return !strcmp(m->instance, instance);
}
