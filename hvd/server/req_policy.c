#include "req_policy.h"

#include <stdio.h>
#include <string.h>

#include "kv.h"
#include "names.h"
#include "policy/current.h"
#include "reply.h"

#define MAX_GROUPS 64

static void reply_decision(int fd, const struct hv_decision *d)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "vm", d->vm ? "1" : "0");
	vj_kv_add_str(&kv, "image", d->image);
	vj_kv_add_str(&kv, "rule", d->rule);
	vj_kv_add_str(&kv, "where", d->where);
	hv_reply(fd, VJ_REPLY_OK, &kv);
	vj_kv_free(&kv);
}

/* A field that is optional, or empty. */
static void opt_str(const struct vj_frame *f, const char *key, char *out, size_t sz)
{
	struct vj_err ignored;
	if (vj_kv_get_str(f->payload, f->len, key, out, sz, "", &ignored) < 0)
		out[0] = '\0';
}

static void check_facts(int fd, const struct vj_frame *f)
{
	char user[128], part[128], acct[128], qos[128], image[VJ_NAME_SZ];
	opt_str(f, "user", user, sizeof(user));
	opt_str(f, "partition", part, sizeof(part));
	opt_str(f, "account", acct, sizeof(acct));
	opt_str(f, "qos", qos, sizeof(qos));
	opt_str(f, "image", image, sizeof(image));
	if (!user[0] || !part[0]) {
		hv_reply_err(fd, "bad POLICY request: check needs user and partition");
		return;
	}
	if (image[0] && !vj_name_valid(image)) {
		hv_reply_err(fd, "bad POLICY request: invalid image name");
		return;
	}
	static __thread char names[MAX_GROUPS][128];
	const char *groups[MAX_GROUPS];
	size_t n = 0;
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0 && n < MAX_GROUPS)
		if (vj_kv_key_is(&e, "group") && e.vlen < sizeof(names[0])) {
			snprintf(names[n], sizeof(names[n]), "%.*s", (int)e.vlen, (const char *)e.val);
			groups[n] = names[n];
			n++;
		}
	struct hv_job_facts j = {.user = user, .partition = part, .account = acct, .qos = qos,
				 .groups = groups, .ngroups = n};
	struct hv_decision d;
	struct vj_err err = {0};
	if (hv_policy_for_facts(&j, image, &d, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	reply_decision(fd, &d);
}

void hv_req_policy(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	(void)cfg;
	char flag[8], job[VJ_NAME_SZ], image[VJ_NAME_SZ];
	opt_str(f, "show", flag, sizeof(flag));
	if (!strcmp(flag, "1")) {
		char text[65536];
		size_t n = hv_policy_current_text(text, sizeof(text));
		if (n >= sizeof(text))
			snprintf(text + sizeof(text) - 32, 32, "\n(... cut)\n");
		struct vj_kvbuf kv;
		vj_kv_init(&kv);
		vj_kv_add_str(&kv, "text", text);
		hv_policy_current_records(&kv);
		hv_reply(fd, VJ_REPLY_OK, &kv);
		vj_kv_free(&kv);
		return;
	}
	opt_str(f, "check", flag, sizeof(flag));
	if (!strcmp(flag, "1")) {
		check_facts(fd, f);
		return;
	}
	opt_str(f, "job", job, sizeof(job));
	opt_str(f, "image", image, sizeof(image));
	if (!vj_name_valid(job) || (image[0] && !vj_name_valid(image))) {
		hv_reply_err(fd, "bad POLICY request: want job [image], show=1 or check=1");
		return;
	}
	struct hv_decision d;
	struct vj_err err = {0};
	/* No rule can require a VM and none is asked for: nothing to look up. */
	if (!image[0] && !hv_policy_may_require()) {
		memset(&d, 0, sizeof(d));
		reply_decision(fd, &d);
		return;
	}
	if (hv_policy_for_job(job, image, &d, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	reply_decision(fd, &d);
}
