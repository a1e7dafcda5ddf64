#include "adopt.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agentconn.h"
#include "gateway/fsexport.h"
#include "images/catalogue.h"
#include "libvirt/domain.h"
#include "libvirt/domquery.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "libvirt/meta.h"
#include "agent/relay.h"
#include "scratch/scratch.h"
#include "vm.h"
#include "vmbuild.h"
#include "vmlife.h"

struct adopt_ctx {
	const struct hv_config *cfg;
	unsigned adopted, foreign;
};

struct adopt_job {
	const struct hv_config *cfg;
	struct hv_vm *vm;
};

static void drop(const struct hv_config *cfg, struct hv_vm *vm)
{
	struct vj_err err = {0};
	hv_vm_teardown(vm);
	if (hv_scratch_remove(cfg, vm->d.job, &err))
		hv_err("job %s: %s", vm->d.job, err.msg);
	hv_table_lock();
	hv_table_remove_locked(vm);
	hv_table_unlock();
}

/* The agent answers every HELLO, so reconnecting is the HELLO handshake of
 * a boot; a guest still booting when hvd died simply answers later. */
static void *adopt_main(void *arg)
{
	struct adopt_job *aj = arg;
	struct hv_vm *vm = aj->vm;
	const struct hv_config *cfg = aj->cfg;
	free(aj);
	char agent[PATH_MAX + 16];
	snprintf(agent, sizeof(agent), "%s/agent.sock", vm->run_dir);
	struct vj_err err = {0};
	/* hvd died between starting the domain paused and resuming it: finish
	 * that step (joining the job again is harmless), or it never boots. */
	if (hv_domain_paused(vm->domain) == 1) {
		hv_info("job %s: adopted VM %s was never resumed; resuming it", vm->d.job, vm->domain);
		if (cfg->account_to_job)
			hv_vm_into_job(cfg, vm);
		if (hv_domain_resume(vm->domain, &err))
			hv_warn("job %s: %s", vm->d.job, err.msg);
		vj_err_clear(&err);
	}
	long long deadline = hv_now_ms() + (long long)cfg->boot_timeout * 1000;
	int rc = -1;
	/* QEMU made the socket when the domain started; if someone removed it
	 * since, no amount of waiting brings it back. */
	if (access(agent, F_OK) < 0)
		vj_err_sys(&err, errno, "its agent socket %s is gone", agent);
	else
		rc = hv_relay_connect(vm, deadline, true, &err);
	if (rc == 0) {
		if (hv_relay_start(vm, &err) == 0) {
			hv_table_lock();
			bool ab = vm->abort;
			if (!ab)
				vm->state = HV_VM_READY;
			hv_table_changed();
			hv_table_unlock();
			if (!ab) {
				hv_fs_find(cfg, vm); /* for the gateway watch */
				hv_info("job %s: adopted VM %s (agent answered again)", vm->d.job,
					vm->domain);
				hv_vm_unref(vm);
				return NULL;
			}
		}
	}
	bool ab = hv_vm_aborted(vm);
	if (ab || hv_domain_running(vm->domain) == 0) {
		hv_info("job %s: adopted VM %s %s; cleaning up", vm->d.job, vm->domain,
			ab ? "destroyed while reconnecting" : "is gone");
		hv_table_lock();
		vm->state = HV_VM_DESTROYING;
		hv_table_unlock();
		drop(cfg, vm);
	} else {
		/* Running but mute: never destroyed on doubt; the job's epilog
		 * or the reaper (once its job ends) removes it. */
		hv_warn("job %s: adopted VM %s does not answer (%s); marked stopped", vm->d.job,
			vm->domain, err.msg);
		hv_table_lock();
		vm->state = HV_VM_STOPPED;
		hv_table_changed();
		hv_table_unlock();
	}
	hv_vm_unref(vm);
	return NULL;
}

static void adopt_one(const char *name, const char *xml, void *ud)
{
	struct adopt_ctx *ctx = ud;
	const struct hv_config *cfg = ctx->cfg;
	struct hv_vmdesc m;
	struct vj_err err = {0};
	if (!xml || hv_meta_parse(xml, strlen(xml), &m, &err)) {
		hv_warn("domain %s: %s; not hvd's to touch", name, xml ? err.msg : "no vmjob metadata");
		ctx->foreign++;
		return;
	}
	if (!hv_meta_owned(&m, cfg->instance, HV_LEGACY_INSTANCE)) {
		/* Another hvd on this host (another state_dir/instance) owns it. */
		hv_debug("domain %s belongs to hvd instance '%s', not ours", name, m.instance);
		ctx->foreign++;
		return;
	}
	if (strcmp(name + strlen(HV_DOMAIN_PREFIX), m.job)) {
		hv_warn("domain %s: metadata names job %s; not adopted", name, m.job);
		ctx->foreign++;
		return;
	}
	struct hv_vm *vm = hv_vm_new();
	struct adopt_job *aj = calloc(1, sizeof(*aj));
	if (!vm || !aj) {
		hv_err("job %s: out of memory adopting %s", m.job, name);
		free(aj);
		if (vm)
			hv_vm_unref(vm);
		return;
	}
	vm->d = m;
	/* Commands of the previous hvd may still run in the guest under low
	 * stream ids; start far from them. */
	vm->next_stream = ((uint32_t)time(NULL) & 0x7fff) << 16 | 1;
	hv_vm_paths(cfg, vm);
	vm->adopting = true;
	/* Its QEMU joined its job at its start if hvd was set to (a sample
	 * of a job without an extern step only fails, quietly). */
	if (cfg->account_to_job)
		vm->job_spool = cfg->slurmd_spool_dir;
	vm->state = HV_VM_BOOTING; /* until the agent answers: CREATEs wait, DESTROYs abort */
	vm->refs = 1;              /* the adopting thread's */
	hv_table_lock();
	if (hv_table_find_locked(vm->d.job)) {
		hv_table_unlock();
		hv_vm_unref(vm);
		free(aj);
		return;
	}
	hv_table_add_locked(vm);
	hv_table_unlock();
	aj->cfg = cfg;
	aj->vm = vm;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, adopt_main, aj);
	pthread_attr_destroy(&attr);
	if (rc) {
		hv_err("job %s: cannot start the adopting thread: %s", vm->d.job, strerror(rc));
		free(aj);
		hv_table_lock();
		vm->state = HV_VM_STOPPED;
		hv_table_unlock();
		hv_vm_unref(vm);
		return;
	}
	hv_info("job %s: found VM %s of uid %u (image '%s'); adopting", vm->d.job, name,
		(unsigned)vm->d.uid, vm->d.image);
	ctx->adopted++;
}

/* Scratch volumes (LVs tagged for this hvd, or files) of jobs without a VM. */
static int sweep_volume(const struct hv_scratch *v, void *ud)
{
	const struct hv_config *cfg = ud;
	hv_table_lock();
	bool known = hv_table_find_locked(v->job) != NULL;
	hv_table_unlock();
	if (known)
		return 0;
	struct vj_err err = {0};
	if (hv_scratch_remove(cfg, v->job, &err))
		hv_err("job %s: cannot remove its leftover scratch volume: %s", v->job, err.msg);
	else
		hv_info("job %s: removed leftover scratch volume %s (no VM)", v->job, v->path);
	return 0;
}

/* Remove base/vm/<job> for every job without a table entry: the leftovers of
 * a create (overlay, scratch file, sockets) that never got a domain, or of
 * a domain that died while hvd was down. */
static unsigned sweep(const char *base)
{
	char dir[PATH_MAX];
	if (hv_path(dir, sizeof(dir), "%s/vm", base))
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !vj_name_valid(e->d_name))
			continue;
		hv_table_lock();
		bool known = hv_table_find_locked(e->d_name) != NULL;
		hv_table_unlock();
		if (known)
			continue;
		char path[PATH_MAX];
		struct vj_err err = {0};
		if (hv_path(path, sizeof(path), "%s/%s", dir, e->d_name))
			continue;
		if (hv_rmdir_flat(path, &err))
			hv_err("job %s: cannot remove leftovers: %s", e->d_name, err.msg);
		else {
			hv_info("job %s: removed leftovers %s (no VM)", e->d_name, path);
			removed++;
		}
	}
	closedir(d);
	return removed;
}

void hv_adopt_all(const struct hv_config *cfg)
{
	struct adopt_ctx ctx = {.cfg = cfg};
	struct vj_err err = {0};
	if (hv_domain_foreach(adopt_one, &ctx, &err)) {
		/* Without the list nothing can be told apart: sweep nothing. */
		hv_err("start-up recovery skipped: %s", err.msg);
		return;
	}
	if (hv_scratch_list(cfg, sweep_volume, (void *)cfg, &err))
		hv_err("start-up recovery: cannot list scratch volumes: %s", err.msg);
	unsigned swept = sweep(cfg->state_dir) + sweep(cfg->run_dir);
	hv_info("start-up recovery: %u VM(s) being adopted, %u other vmjob domain(s) left alone, %u leftover dir(s) removed",
		ctx.adopted, ctx.foreign, swept);
}
