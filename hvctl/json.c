/* See json.h. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

int hvctl_json_print(json_t *doc)
{
	if (!doc) {
		fprintf(stderr, "hvctl: cannot build the JSON output (out of memory)\n");
		return 1;
	}
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (rc < 0 || fputc('\n', stdout) == EOF || fflush(stdout)) {
		fprintf(stderr, "hvctl: cannot write the JSON output\n");
		return 1;
	}
	return 0;
}

bool hvctl_json_flag(int *argc, char **argv)
{
	bool found = false, operands = false;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		operands = operands || !strcmp(argv[i], "--"); /* after "--": not ours */
		if (!operands && !strcmp(argv[i], "--json")) {
			found = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	return found;
}

static bool listed(const char *key, size_t klen, const char *const *names)
{
	for (; names && *names; names++)
		if (strlen(*names) == klen && !memcmp(*names, key, klen))
			return true;
	return false;
}

json_t *hvctl_json_from_kv(const struct vj_frame *f, const char *const *ints)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0) {
		char key[128], *end;
		snprintf(key, sizeof(key), "%.*s", (int)e.klen, e.key);
		json_t *v = NULL;
		if (listed(e.key, e.klen, ints)) {
			char num[32];
			snprintf(num, sizeof(num), "%.*s", (int)e.vlen, (const char *)e.val);
			long long n = strtoll(num, &end, 10);
			if (num[0] && !*end)
				v = json_integer(n);
		}
		if (!v)
			v = json_stringn((const char *)e.val, e.vlen);
		/* A value that is not UTF-8 (hvd sends none) is left out. */
		if (v && json_object_set_new(o, key, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *hvctl_json_list(const char *csv)
{
	json_t *a = json_array();
	if (!a || !strcmp(csv, "-") || !csv[0])
		return a;
	for (const char *p = csv; *p;) {
		size_t n = strcspn(p, ",");
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}
