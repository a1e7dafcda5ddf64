#include "fswatch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agent/relay.h"
#include "base/log.h"
#include "fsexport.h"
#include "vm/vm.h"

#define FSWATCH_TICK_MS 2000

struct ready {
	struct hv_vm **v;
	size_t n, cap;
};

static void collect(struct hv_vm *vm, void *ud)
{
	struct ready *r = ud;
	if (vm->state != HV_VM_READY || vm->nfs == 0)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		void *p = realloc(r->v, cap * sizeof(*r->v));
		if (!p)
			return;
		r->v = p, r->cap = cap;
	}
	hv_vm_ref_locked(vm);
	r->v[r->n++] = vm;
}

static void check(const struct hv_config *cfg, struct hv_vm *vm)
{
	int i = hv_fs_dead(vm);
	if (i < 0)
		return;
	if (!hv_vm_mark_stopped(vm))
		return; /* already stopped or going: someone else reports it */
	char export[PATH_MAX], msg[PATH_MAX * 2 + 200];
	struct vj_err err = {0};
	if (hv_fs_export_path(cfg, (unsigned)i, vm->d.uid, vm->d.gid, export, sizeof(export), &err))
		snprintf(export, sizeof(export), "%s", cfg->exports[i]);
	snprintf(msg, sizeof(msg),
		 "the filesystem gateway of export %s stopped, so the VM of job %s cannot go on "
		 "(its log: %s/fs.%d.log)", export, vm->d.job, vm->run_dir, i);
	hv_err("job %s: %s", vm->d.job, msg);
	hv_relay_end_all(vm, msg);
}

static void *watch_main(void *arg)
{
	const struct hv_config *cfg = arg;
	struct timespec tick = {FSWATCH_TICK_MS / 1000, (FSWATCH_TICK_MS % 1000) * 1000000L};
	for (;;) {
		nanosleep(&tick, NULL);
		struct ready r = {0};
		hv_table_lock();
		hv_table_foreach_locked(collect, &r);
		hv_table_unlock();
		for (size_t k = 0; k < r.n; k++) {
			check(cfg, r.v[k]);
			hv_vm_unref(r.v[k]);
		}
		free(r.v);
	}
	return NULL;
}

void hv_fswatch_start(const struct hv_config *cfg)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watch_main, (void *)cfg))
		hv_err("cannot start the gateway watch thread: its VMs' dead gateways go unnoticed");
	pthread_attr_destroy(&attr);
}
