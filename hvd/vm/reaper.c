#include "reaper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobcheck.h"
#include "base/log.h"
#include "vm.h"
#include "vmlife.h"
#include "names.h"

struct snap {
	struct seen {
		char job[VJ_NAME_SZ];
		time_t created;
	} *vms;
	size_t n, cap;
};

static void collect(struct hv_vm *vm, void *ud)
{
	struct snap *s = ud;
	/* A VM being created belongs to a job Slurm just started. */
	if (vm->state == HV_VM_DESTROYING || (vm->state == HV_VM_BOOTING && !vm->adopting))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->vms, cap * sizeof(*s->vms));
		if (!p)
			return;
		s->vms = p;
		s->cap = cap;
	}
	memcpy(s->vms[s->n].job, vm->d.job, sizeof(vm->d.job));
	s->vms[s->n++].created = vm->d.created;
}

static void pass(const struct hv_config *cfg)
{
	struct snap s = {0};
	hv_table_lock();
	hv_table_foreach_locked(collect, &s);
	hv_table_unlock();
	/* slurmctld is asked without the table lock: it may take seconds. */
	unsigned unreachable = 0;
	char last[256] = "";
	for (size_t i = 0; i < s.n; i++) {
		char why[256];
		const char *job = s.vms[i].job;
		enum hv_job_fate f = hv_job_fate(job, cfg->slurm_node, s.vms[i].created, why, sizeof(why));
		if (f == HV_JOB_UNKNOWN) {
			hv_debug("job %s: keeping its VM: cannot tell whether the job lives (%s)",
				 job, why);
			if (!strncmp(why, "slurmctld:", 10)) {
				unreachable++;
				snprintf(last, sizeof(last), "%s", why);
			}
		}
		if (f != HV_JOB_ENDED)
			continue;
		hv_info("job %s: the job ended (%s) but its VM is still here; destroying it",
			job, why);
		struct vj_err err = {0};
		if (hv_vm_destroy(cfg, job, &err))
			hv_err("job %s: %s", job, err.msg);
	}
	free(s.vms);
	/* Once per pass, so an admin sees why VMs of ended jobs may linger. */
	if (unreachable)
		hv_warn("reaper: %u VM(s) kept: cannot ask about their jobs (%s); retrying in %u s",
			unreachable, last, cfg->reap_interval);
}

static void *reaper_main(void *arg)
{
	const struct hv_config *cfg = arg;
	for (;;) {
		pass(cfg);
		sleep(cfg->reap_interval);
	}
	return NULL;
}

void hv_reaper_start(const struct hv_config *cfg)
{
	if (!cfg->reap_interval) {
		hv_info("reaper off (reap_interval = 0): only DESTROY removes VMs");
		return;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, reaper_main, (void *)cfg);
	pthread_attr_destroy(&attr);
	if (rc)
		hv_err("cannot start the reaper thread: %s", strerror(rc));
}
