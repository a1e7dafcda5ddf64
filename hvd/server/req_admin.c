#include "req_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/admit.h"
#include "libvirt/domquery.h"
#include "libvirt/probe.h"
#include "vm/drain.h"
#include "kv.h"
#include "base/log.h"
#include "reply.h"
#include "vm/vm.h"
#include "names.h"

void hv_req_drain(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	char reason[200];
	struct vj_err err = {0};
	if (vj_kv_get_str(f->payload, f->len, "reason", reason, sizeof(reason), "", &err)) {
		vj_err_prefix(&err, "bad DRAIN request");
		hv_reply_err(fd, err.msg);
		return;
	}
	if (hv_drain_set(cfg, reason, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	hv_reply_ok(fd);
}

void hv_req_resume(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	(void)f;
	struct vj_err err = {0};
	if (hv_drain_clear(cfg, &err)) {
		hv_reply_err(fd, err.msg);
		return;
	}
	hv_reply_ok(fd);
}

/* A copy of what the record needs, taken under the table lock; libvirt is
 * asked for the counters after it is dropped. */
struct row {
	char job[VJ_NAME_SZ], image[VJ_NAME_SZ], domain[80], virt[8], state[16];
	unsigned uid, cpus, mem_mb;
	long long age;
	long t[4];
	bool timed;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void take(struct hv_vm *vm, void *ud)
{
	struct rows *r = ud;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		void *p = realloc(r->v, cap * sizeof(*r->v));
		if (!p)
			return;
		r->v = p;
		r->cap = cap;
	}
	struct row *w = &r->v[r->n++];
	memcpy(w->job, vm->d.job, sizeof(w->job));
	memcpy(w->image, vm->d.image, sizeof(w->image));
	memcpy(w->domain, vm->domain, sizeof(w->domain));
	memcpy(w->virt, vm->d.virt, sizeof(w->virt));
	snprintf(w->state, sizeof(w->state), "%s", hv_vm_state_name(vm->state));
	w->uid = (unsigned)vm->d.uid;
	w->cpus = vm->d.cpus;
	w->mem_mb = vm->d.mem_mb;
	w->age = (long long)(time(NULL) - vm->d.created);
	/* An adopted VM still reconnecting keeps the times of its first boot. */
	w->timed = vm->state != HV_VM_BOOTING || vm->adopting;
	w->t[0] = vm->d.t_image, w->t[1] = vm->d.t_scratch;
	w->t[2] = vm->d.t_domain, w->t[3] = vm->d.t_agent;
}

void hv_req_vms(const struct hv_config *cfg, int fd, const struct vj_frame *f)
{
	(void)f;
	struct rows r = {0};
	uint64_t used;
	unsigned n;
	hv_table_lock();
	hv_table_foreach_locked(take, &r);
	hv_usage_locked(&used, &n);
	hv_table_unlock();

	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	char why[256];
	bool drained = hv_drained(why, sizeof(why));
	vj_kv_add_u64(&kv, "drained", drained);
	if (drained)
		vj_kv_add_str(&kv, "drain_reason", why);
	vj_kv_add_u64(&kv, "max_vms", cfg->max_vms);
	vj_kv_add_u64(&kv, "host_mem_mb", hv_host_mem_mb());
	vj_kv_add_u64(&kv, "host_mem_reserve_mb", cfg->host_mem_reserve_mb);
	vj_kv_add_u64(&kv, "vm_mem_mb", used);
	vj_kv_add_u64(&kv, "vms", n);
	char virt[8], vwhy[512];
	if (hv_probe_verdict(cfg, virt, vwhy, sizeof(vwhy))) {
		vj_kv_add_str(&kv, "virt", virt);
		vj_kv_add_str(&kv, "virt_reason", vwhy);
	}
	for (size_t i = 0; i < r.n; i++) {
		struct row *w = &r.v[i];
		uint64_t cpu_ns = 0, mem_kib = 0;
		bool have = hv_domain_counters(w->domain, &cpu_ns, &mem_kib) == 0;
		char times[160] = "";
		if (w->timed)
			snprintf(times, sizeof(times), " t_image=%ld t_scratch=%ld t_domain=%ld t_agent=%ld",
				 w->t[0], w->t[1], w->t[2], w->t[3]);
		char counters[80] = "";
		if (have)
			snprintf(counters, sizeof(counters), " cpu_ns=%llu mem_kib=%llu",
				 (unsigned long long)cpu_ns, (unsigned long long)mem_kib);
		vj_kv_add_fmt(&kv, "vm", "job=%s uid=%u image=%s state=%s virt=%s age=%lld cpus=%u mem_mb=%u%s%s",
			      w->job, w->uid, w->image, w->state, w->virt, w->age, w->cpus, w->mem_mb,
			      times, counters);
	}
	free(r.v);
	if (kv.oom) {
		vj_kv_free(&kv);
		hv_reply_err(fd, "out of memory");
		return;
	}
	hv_reply(fd, VJ_REPLY_OK, &kv);
}
