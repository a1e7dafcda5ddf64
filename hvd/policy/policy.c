/* See policy.h. */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ini.h"
#include "cleanup.h"

const char *const HV_VM_NEED_WORDS[] = {"optional", "required", "never", NULL};

#define MAX_RULES 256

/* A list item: a Slurm name (partition, account, QOS), a user or group
 * name, or an image name: printable, no space, no comma, at most 64 bytes. */
static bool item_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ',' || s[i] == 0x7f)
			return false;
	return true;
}

/* "a, b ,c" -> ",a,b,c,". images also takes a lone "*" (stored as ""). */
static int set_list(char *dst, const char *key, const char *v, bool star_ok, struct vj_err *err)
{
	size_t used = 0;
	dst[0] = '\0';
	if (star_ok && !strcmp(v, "*"))
		return 0;
	for (const char *p = v;;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (!item_ok(p, m))
			return vj_err_set(err, EINVAL, "%s: '%.*s' is not a name (one list item: no space, "
					  "at most 64 bytes)", key, (int)(m > 64 ? 64 : m), p);
		if (!strcmp(key, "images")) {
			char name[VJ_NAME_SZ];
			snprintf(name, sizeof(name), "%.*s", (int)m, p);
			if (!vj_name_valid(name))
				return vj_err_set(err, EINVAL, "images: '%s' is not an image name", name);
		}
		int w = snprintf(dst + used, HV_POLICY_LIST_MAX - used, "%s%.*s,", used ? "" : ",", (int)m, p);
		if (w < 0 || (size_t)w >= HV_POLICY_LIST_MAX - used)
			return vj_err_set(err, E2BIG, "%s: list too long (%d bytes at most)", key,
					  HV_POLICY_LIST_MAX - 2);
		used += (size_t)w;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static bool in_list(const char *list, const char *item)
{
	if (!list[0])
		return true;
	if (!item || !item[0])
		return false;
	size_t n = strlen(item);
	for (const char *p = strstr(list, item); p; p = strstr(p + 1, item))
		if (p[-1] == ',' && p[n] == ',')
			return true;
	return false;
}

struct loading {
	struct hv_policy p;
	struct hv_rule *cur;
	const char *path;
	unsigned line_hint; /* no line from inih for a header: counted below */
};

static int on_section(void *u, const char *name, struct vj_err *err)
{
	struct loading *l = u;
	if (strncmp(name, "rule ", 5) || !name[5])
		return vj_err_set(err, EINVAL, "[%s]: sections are [rule NAME]", name);
	const char *rn = name + 5;
	rn += strspn(rn, " ");
	char nm[64];
	if (snprintf(nm, sizeof(nm), "%s", rn) >= (int)sizeof(nm) || !vj_name_valid(nm))
		return vj_err_set(err, EINVAL, "[rule %s]: a rule's name is 1-64 of [A-Za-z0-9._-]", rn);
	for (size_t i = 0; i < l->p.n; i++)
		if (!strcmp(l->p.rules[i].name, nm))
			return vj_err_set(err, EEXIST, "[rule %s] again: rule names are unique", nm);
	if (l->p.n == MAX_RULES)
		return vj_err_set(err, E2BIG, "more than %d rules", MAX_RULES);
	struct hv_rule *r = realloc(l->p.rules, (l->p.n + 1) * sizeof(*r));
	if (!r)
		return vj_err_set(err, ENOMEM, "out of memory");
	l->p.rules = r;
	l->cur = &r[l->p.n++];
	memset(l->cur, 0, sizeof(*l->cur));
	snprintf(l->cur->name, sizeof(l->cur->name), "%s", nm);
	return 0;
}

static int on_key(void *u, const char *section, const char *k, const char *v, struct vj_err *err)
{
	struct loading *l = u;
	(void)section;
	struct hv_rule *r = l->cur;
	if (!r)
		return vj_err_set(err, EINVAL, "'%s' outside a [rule NAME] section", k);
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
		{"partition", offsetof(struct hv_rule, partition)}, {"account", offsetof(struct hv_rule, account)},
		{"qos", offsetof(struct hv_rule, qos)},             {"user", offsetof(struct hv_rule, user)},
		{"group", offsetof(struct hv_rule, group)},
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (!strcmp(k, lists[i].key))
			return set_list((char *)r + lists[i].off, k, v, false, err);
	if (!strcmp(k, "images"))
		return set_list(r->images, k, v, true, err);
	if (!strcmp(k, "default_image")) {
		if (!vj_name_valid(v))
			return vj_err_set(err, EINVAL, "default_image: '%s' is not an image name", v);
		snprintf(r->default_image, sizeof(r->default_image), "%s", v);
		return 0;
	}
	if (!strcmp(k, "vm")) {
		for (int i = 0; HV_VM_NEED_WORDS[i]; i++)
			if (!strcmp(v, HV_VM_NEED_WORDS[i])) {
				r->vm = (enum hv_vm_need)i;
				return 0;
			}
		return vj_err_set(err, EINVAL, "vm: '%s' is not one of optional, required, never", v);
	}
	return vj_err_set(err, EINVAL, "unknown key '%s'", k);
}

/* The line of each [rule NAME] header (inih gives none for a header). */
static void header_lines(const char *text, struct hv_policy *p)
{
	size_t r = 0;
	unsigned line = 1;
	for (const char *s = text; *s && r < p->n; line++) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		const char *t = s + strspn(s, " \t");
		if (*t == '[' && (size_t)(t - s) < n)
			p->rules[r++].line = line;
		s += n + (e ? 1 : 0);
		if (!e)
			break;
	}
}

int hv_policy_load(struct hv_policy *out, const char *path, struct vj_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (hv_ini_read_file(path, 1u << 20, &text, &len, err))
		return -1;
	struct loading l = {.path = path};
	const struct hv_ini ini = {.hash_comments = true, .on_section = on_section, .on_key = on_key, .u = &l};
	unsigned line = 0;
	if (hv_ini_parse(text, len, &ini, &line, err)) {
		free(l.p.rules);
		return vj_err_prefix(err, "%s:%u", path, line);
	}
	header_lines(text, &l.p);
	for (size_t i = 0; i < l.p.n; i++) {
		struct hv_rule *r = &l.p.rules[i];
		if (r->vm == HV_VM_REQUIRED && !r->default_image[0]) {
			vj_err_set(err, EINVAL, "%s:%u: [rule %s]: vm = required needs default_image", path,
				   r->line, r->name);
			free(l.p.rules);
			return -1;
		}
		if (r->default_image[0] && !in_list(r->images, r->default_image)) {
			vj_err_set(err, EINVAL, "%s:%u: [rule %s]: default_image %s is not in its images", path,
				   r->line, r->name, r->default_image);
			free(l.p.rules);
			return -1;
		}
		l.p.any_required |= r->vm == HV_VM_REQUIRED;
	}
	snprintf(l.p.path, sizeof(l.p.path), "%s", path);
	hv_policy_free(out);
	*out = l.p;
	return 0;
}

void hv_policy_free(struct hv_policy *p)
{
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

static bool matches(const struct hv_rule *r, const struct hv_job_facts *j)
{
	if (!in_list(r->partition, j->partition) || !in_list(r->account, j->account) ||
	    !in_list(r->qos, j->qos) || !in_list(r->user, j->user))
		return false;
	if (!r->group[0])
		return true;
	for (size_t i = 0; i < j->ngroups; i++)
		if (in_list(r->group, j->groups[i]))
			return true;
	return false;
}

/* ",a,b," -> "a, b" (or "any image" for ""). */
static void list_text(const char *list, char *out, size_t sz)
{
	if (!list[0]) {
		snprintf(out, sz, "any image");
		return;
	}
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = list + 1; *p && used < sz;) {
		size_t n = strcspn(p, ",");
		int w = snprintf(out + used, sz - used, "%s%.*s", used ? ", " : "", (int)n, p);
		if (w < 0)
			break;
		used += (size_t)w;
		p += n + 1;
	}
}

int hv_policy_decide(const struct hv_policy *p, const struct hv_job_facts *j, const char *requested,
		     struct hv_decision *d, struct vj_err *err)
{
	memset(d, 0, sizeof(*d));
	const struct hv_rule *r = NULL;
	for (size_t i = 0; p && i < p->n && !r; i++)
		if (matches(&p->rules[i], j))
			r = &p->rules[i];
	if (!r) { /* as without a policy */
		d->vm = requested[0] != '\0';
		snprintf(d->image, sizeof(d->image), "%s", requested);
		return 0;
	}
	snprintf(d->rule, sizeof(d->rule), "%s", r->name);
	snprintf(d->where, sizeof(d->where), "%s:%u", p->path, r->line);
	char allowed[HV_POLICY_LIST_MAX + 64];
	list_text(r->images, allowed, sizeof(allowed));
	if (r->vm == HV_VM_NEVER) {
		if (requested[0])
			return vj_err_set(err, EPERM, "image '%s' refused: rule '%s' (%s) runs jobs "
					  "here without a VM; submit without --vm-image", requested,
					  r->name, d->where);
		return 0;
	}
	if (requested[0] && !in_list(r->images, requested))
		return vj_err_set(err, EPERM, "image '%s' refused by rule '%s' (%s): this job may use %s",
				  requested, r->name, d->where, allowed);
	if (requested[0]) {
		d->vm = true;
		snprintf(d->image, sizeof(d->image), "%s", requested);
	} else if (r->vm == HV_VM_REQUIRED) {
		d->vm = true;
		snprintf(d->image, sizeof(d->image), "%s", r->default_image);
	}
	return 0;
}

bool hv_policy_record(const struct hv_policy *p, size_t i, char *out, size_t sz)
{
	if (!p || i >= p->n)
		return false;
	const struct hv_rule *r = &p->rules[i];
	snprintf(out, sz, "%s\t%u\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r->name, r->line,
		 HV_VM_NEED_WORDS[r->vm], r->default_image, r->images, r->partition, r->account, r->qos,
		 r->user, r->group);
	return true;
}

size_t hv_policy_describe(const struct hv_policy *p, char *out, size_t sz)
{
	size_t used = 0;
#define PUT(...)                                                                   \
	do {                                                                       \
		int w_ = snprintf(out + (used < sz ? used : sz), used < sz ? sz - used : 0, \
				  __VA_ARGS__);                                    \
		if (w_ > 0)                                                        \
			used += (size_t)w_;                                        \
	} while (0)
	if (!p || !p->path[0]) {
		PUT("no policy: every job may ask for any image; none must run in a VM\n");
		return used;
	}
	PUT("policy %s: %zu rule(s), first match wins\n", p->path, p->n);
	for (size_t i = 0; i < p->n; i++) {
		const struct hv_rule *r = &p->rules[i];
		char imgs[HV_POLICY_LIST_MAX + 64];
		list_text(r->images, imgs, sizeof(imgs));
		PUT("rule %s (line %u): when", r->name, r->line);
		const struct {
			const char *what, *list;
		} c[] = {{"partition", r->partition}, {"account", r->account}, {"qos", r->qos},
			 {"user", r->user},           {"group", r->group}};
		bool any = false;
		for (size_t k = 0; k < 5; k++)
			if (c[k].list[0]) {
				char t[HV_POLICY_LIST_MAX + 64];
				list_text(c[k].list, t, sizeof(t));
				PUT("%s %s in {%s}", any ? " and" : "", c[k].what, t);
				any = true;
			}
		PUT("%s: vm %s, images: %s%s%s\n", any ? "" : " any job", HV_VM_NEED_WORDS[r->vm], imgs,
		    r->default_image[0] ? ", default " : "", r->default_image);
	}
	PUT("no rule matches: the image the job asks for, or none\n");
#undef PUT
	return used;
}
