#include "vmdesc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"

#define F(field) offsetof(struct hv_vmdesc, field), sizeof(((struct hv_vmdesc *)0)->field)
#define ID_MAX (UINT32_MAX - 1) /* (uid_t)-1 is no one */
#define MB_MAX (16u << 20)

const struct hv_field HV_VMDESC_FIELDS[] = {
	{"job", HV_F_NAME, F(job), 0, 0,
	 HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE | HV_NEED_META},
	{"uid", HV_F_U32, F(uid), 0, ID_MAX,
	 HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE | HV_NEED_META},
	{"gid", HV_F_U32, F(gid), 0, ID_MAX,
	 HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE | HV_NEED_META},
	{"image", HV_F_NAME, F(image), 0, 0,
	 HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE | HV_NEED_META},
	{"created", HV_F_TIME, F(created), 0, 0, HV_IN_META | HV_IN_STATUS},
	{"instance", HV_F_PATH, F(instance), 0, 0, HV_IN_META},
	{"virt", HV_F_VIRT, F(virt), 0, 0, HV_IN_META | HV_IN_STATUS | HV_IN_RESULT},
	{"cpus", HV_F_U32, F(cpus), 1, 1024, HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE},
	{"mem_mb", HV_F_U32, F(mem_mb), 64, MB_MAX,
	 HV_IN_CREATE | HV_IN_META | HV_IN_STATUS | HV_NEED_CREATE},
	{"cores", HV_F_CORES, F(cores), 0, 0, HV_IN_CREATE | HV_IN_META | HV_IN_STATUS},
	{"scratch_mb", HV_F_U64, F(scratch_mb), 16, MB_MAX, HV_IN_CREATE | HV_IN_META | HV_IN_STATUS},
	{"t_image", HV_F_MS, F(t_image), 0, 1u << 30, HV_IN_META | HV_IN_STATUS | HV_IN_RESULT | HV_PHASE},
	{"t_scratch", HV_F_MS, F(t_scratch), 0, 1u << 30,
	 HV_IN_META | HV_IN_STATUS | HV_IN_RESULT | HV_PHASE},
	{"t_domain", HV_F_MS, F(t_domain), 0, 1u << 30,
	 HV_IN_META | HV_IN_STATUS | HV_IN_RESULT | HV_PHASE},
	{"t_agent", HV_F_MS, F(t_agent), 0, 1u << 30, HV_IN_META | HV_IN_STATUS | HV_IN_RESULT | HV_PHASE},
};
const size_t HV_VMDESC_NFIELDS = sizeof(HV_VMDESC_FIELDS) / sizeof(HV_VMDESC_FIELDS[0]);

void hv_vmdesc_init(struct hv_vmdesc *d)
{
	memset(d, 0, sizeof(*d));
	d->cpus = 1;
	d->t_image = d->t_scratch = d->t_domain = d->t_agent = -1;
}

#define AT(d, f, type) ((type *)((char *)(d) + (f)->off))
#define CAT(d, f, type) ((const type *)((const char *)(d) + (f)->off))

bool hv_field_format(const struct hv_field *f, const struct hv_vmdesc *d, char *out, size_t outsz)
{
	switch (f->type) {
	case HV_F_NAME:
	case HV_F_CORES:
	case HV_F_VIRT:
	case HV_F_PATH:
		snprintf(out, outsz, "%s", CAT(d, f, char));
		return out[0] != '\0';
	case HV_F_U32:
		snprintf(out, outsz, "%u", *CAT(d, f, unsigned));
		return true;
	case HV_F_U64:
		snprintf(out, outsz, "%llu", (unsigned long long)*CAT(d, f, uint64_t));
		return true;
	case HV_F_TIME: {
		struct tm tm;
		gmtime_r(CAT(d, f, time_t), &tm);
		strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return true;
	}
	case HV_F_MS:
		snprintf(out, outsz, "%ld", *CAT(d, f, long));
		return *CAT(d, f, long) >= 0;
	}
	return false;
}

static int number(const struct hv_field *f, const char *text, unsigned in, uint64_t *v,
		  struct vj_err *err)
{
	uint64_t min = in & HV_IN_CREATE ? f->min : 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || *end || text[0] < '0' || text[0] > '9' || n < min || n > f->max)
		return vj_err_set(err, EINVAL, "'%s' must be a number in [%llu, %llu]", f->name,
				  (unsigned long long)min, (unsigned long long)f->max);
	*v = n;
	return 0;
}

int hv_field_parse(const struct hv_field *f, struct hv_vmdesc *d, const char *text, unsigned in,
		   struct vj_err *err)
{
	uint64_t v;
	bool is_string = f->type == HV_F_NAME || f->type == HV_F_CORES || f->type == HV_F_VIRT ||
			 f->type == HV_F_PATH;
	if (is_string && strlen(text) >= f->size)
		return vj_err_set(err, EINVAL, "'%s' is too long", f->name);
	switch (f->type) {
	case HV_F_NAME:
		if (!vj_name_valid(text))
			return vj_err_set(err, EINVAL, "invalid %s '%.64s' (allowed: [A-Za-z0-9._-]{1,64})",
					  f->name, text);
		break;
	case HV_F_CORES: {
		/* The cores go into the domain XML's cpuset and vcpupin: a real list. */
		unsigned list[1024];
		size_t n;
		if (text[0] && (strspn(text, "0123456789,-") != strlen(text) ||
				hv_cpulist_parse(text, list, 1024, &n)))
			return vj_err_set(err, EINVAL, "'%s' must be a list like 0-3,8", f->name);
		break;
	}
	case HV_F_VIRT:
		if (text[0] && strcmp(text, "kvm") && strcmp(text, "qemu") && strcmp(text, "-"))
			return vj_err_set(err, EINVAL, "'%s' is neither kvm nor qemu", f->name);
		break;
	case HV_F_PATH:
		break;
	case HV_F_U32:
		if (number(f, text, in, &v, err))
			return -1;
		*AT(d, f, unsigned) = (unsigned)v;
		return 0;
	case HV_F_U64:
		return number(f, text, in, AT(d, f, uint64_t), err);
	case HV_F_MS:
		if (number(f, text, in, &v, err))
			return -1;
		*AT(d, f, long) = (long)v;
		return 0;
	case HV_F_TIME: {
		/* An unreadable time is not worth refusing a VM for: now. */
		struct tm tm = {0};
		char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
		*AT(d, f, time_t) = end && !*end ? timegm(&tm) : time(NULL);
		return 0;
	}
	}
	strcpy(AT(d, f, char), text);
	return 0;
}

void hv_vmdesc_to_kv(const struct hv_vmdesc *d, unsigned in, struct vj_kvbuf *kv)
{
	char buf[PATH_MAX];
	for (size_t i = 0; i < HV_VMDESC_NFIELDS; i++) {
		const struct hv_field *f = &HV_VMDESC_FIELDS[i];
		if (!(f->flags & in))
			continue;
		bool has = hv_field_format(f, d, buf, sizeof(buf));
		/* A CREATE reply has always carried every phase time, a phase
		 * not run as (uint64_t)-1, which clients read as a u64. */
		if (!has && (in & HV_IN_RESULT) && f->type == HV_F_MS)
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(uint64_t)-1);
		if (has || (in & HV_IN_RESULT))
			vj_kv_add_str(kv, f->name, buf);
	}
}

int hv_vmdesc_from_kv(const void *p, size_t len, struct hv_vmdesc *d, struct vj_err *err)
{
	hv_vmdesc_init(d);
	d->scratch_mb = 0;
	if (vj_kv_validate(p, len, err))
		return -1;
	char buf[PATH_MAX];
	for (size_t i = 0; i < HV_VMDESC_NFIELDS; i++) {
		const struct hv_field *f = &HV_VMDESC_FIELDS[i];
		if (!(f->flags & HV_IN_CREATE))
			continue;
		if (!(f->flags & HV_NEED_CREATE) && vj_kv_count(p, len, f->name) == 0)
			continue;
		if (vj_kv_get_str(p, len, f->name, buf, sizeof(buf), NULL, err) ||
		    hv_field_parse(f, d, buf, HV_IN_CREATE, err))
			return -1;
	}
	return 0;
}
