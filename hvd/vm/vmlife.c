#include "vmlife.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admit.h"
#include "libvirt/domain.h"
#include "vmbuild.h"
#include "libvirt/domquery.h"
#include "gateway/fsexport.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "agent/relay.h"
#include "scratch/scratch.h"
#include "slurm/stepd.h"
#include "vm.h"

void hv_vm_paths(const struct hv_config *cfg, struct hv_vm *vm)
{
	/* Config paths are checked at startup to leave room for these. */
	hv_path(vm->run_dir, sizeof(vm->run_dir), "%s/vm/%s", cfg->run_dir, vm->d.job);
	hv_path(vm->disk_dir, sizeof(vm->disk_dir), "%s/vm/%s", cfg->state_dir, vm->d.job);
	hv_path(vm->domain, sizeof(vm->domain), HV_DOMAIN_PREFIX "%s", vm->d.job);
}

bool hv_vm_aborted(void *ud)
{
	struct hv_vm *vm = ud;
	hv_table_lock();
	bool a = vm->abort;
	hv_table_unlock();
	return a;
}

void hv_vm_sample_job(struct hv_vm *vm)
{
	struct vj_err err = {0};
	if (vm->job_spool && hv_stepd_sample(vm->job_spool, vm->d.job, &err))
		hv_debug("job %s: %s", vm->d.job, err.msg);
}

/* Remove every trace of the VM: domain, agent channel, files, dirs. */
void hv_vm_teardown(struct hv_vm *vm)
{
	struct vj_err err = {0};
	hv_relay_stop(vm);
	if (hv_domain_destroy(vm->domain, &err) < 0)
		hv_err("job %s: %s", vm->d.job, err.msg);
	hv_relay_reap(vm);
	hv_fs_stop(vm); /* after the domain: its channels are closed by now */
	if (hv_rmdir_flat(vm->disk_dir, &err))
		hv_err("job %s: %s", vm->d.job, err.msg);
	if (hv_rmdir_flat(vm->run_dir, &err))
		hv_err("job %s: %s", vm->d.job, err.msg);
}

static void fill_res(const struct hv_vm *vm, struct hv_vmdesc *res, char domain[80])
{
	*res = vm->d;
	snprintf(domain, 80, "%s", vm->domain);
}

/* The scratch volume outlives the domain and dirs teardown removes (an LV
 * lives in the VG): remove it too, logging a failure. */
static void scratch_remove(const struct hv_config *cfg, const char *job)
{
	struct vj_err err = {0};
	if (hv_scratch_remove(cfg, job, &err))
		hv_err("job %s: %s", job, err.msg);
}

/* A second CREATE of a job joins the first: waits for its boot and answers
 * as it did. Called and returns with the table locked; vm is referenced. */
static int join_locked(struct hv_vm *vm, const struct hv_vmdesc *rq, struct hv_vmdesc *res,
		       char domain[80], struct vj_err *err)
{
	if (vm->d.uid != rq->uid || strcmp(vm->d.image, rq->image))
		return vj_err_set(err, EEXIST, "job %s already has a VM (uid %u, image '%s')",
				  rq->job, (unsigned)vm->d.uid, vm->d.image);
	while (vm->state == HV_VM_BOOTING)
		hv_table_wait();
	if (vm->state == HV_VM_READY) {
		fill_res(vm, res, domain);
		return 0;
	}
	if (hv_table_find_locked(rq->job) != vm)
		return vj_err_set(err, ECANCELED, "the VM of job %s failed to start or was destroyed",
				  rq->job);
	return vj_err_set(err, EBUSY, "the VM of job %s is %s", rq->job,
			  hv_vm_state_name(vm->state));
}

/* A new table entry for rq, BOOTING, if admission lets it in. Called and
 * returns with the table locked. */
static struct hv_vm *claim_locked(const struct hv_config *cfg, const struct hv_vmdesc *rq,
				  struct vj_err *err)
{
	/* Checked and claimed under one lock hold: no two creates share a slot. */
	if (hv_admit_locked(cfg, rq->mem_mb + (unsigned)cfg->vm_memory_overhead_mb, err)) {
		hv_info("job %s: refused: %s", rq->job, err->msg);
		return NULL;
	}
	struct hv_vm *vm = hv_vm_new();
	if (!vm) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	vm->d = *rq;
	snprintf(vm->d.instance, sizeof(vm->d.instance), "%s", cfg->instance);
	vm->d.scratch_mb = hv_scratch_size_mb(cfg, rq->scratch_mb, rq->cpus, NULL, 0);
	vm->scratch_asked = rq->scratch_mb != 0;
	vm->d.created = time(NULL);
	vm->state = HV_VM_BOOTING;
	strcpy(vm->d.virt, "-"); /* until the probe says */
	hv_vm_paths(cfg, vm);
	vm->refs = 1; /* ours */
	hv_table_add_locked(vm);
	return vm;
}

int hv_vm_create(const struct hv_config *cfg, const struct hv_vmdesc *rq, struct hv_vmdesc *res,
		 char domain[80], struct vj_err *err)
{
	long long t0 = hv_now_ms();
	struct hv_vmdesc sized = *rq;
	if (hv_guest_mem(cfg, rq->mem_mb, &sized.mem_mb, err))
		return -1;
	rq = &sized;
	hv_table_lock();
	struct hv_vm *vm = hv_table_find_locked(rq->job);
	if (vm) {
		hv_vm_ref_locked(vm);
		int rc = join_locked(vm, rq, res, domain, err);
		hv_table_unlock();
		hv_vm_unref(vm);
		return rc;
	}
	vm = claim_locked(cfg, rq, err);
	hv_table_unlock();
	if (!vm)
		return -1;

	hv_info("job %s: creating VM (uid %u, image '%s', %u cpus, %u MiB, scratch %llu MiB%s%s)",
		vm->d.job, (unsigned)vm->d.uid, vm->d.image, vm->d.cpus, vm->d.mem_mb,
		(unsigned long long)vm->d.scratch_mb, vm->d.cores[0] ? ", cores " : "", vm->d.cores);
	/* Leftovers of an earlier life of this job (hvd killed mid-create) would
	 * make mkdir fail; they belong to no live VM in our table, so clear them. */
	int rc;
	if (hv_domain_running(vm->domain) == 1) {
		/* Not ours to tear down: it was started before this hvd. */
		vj_err_set(err, EEXIST,
			   "domain %s is already running but not managed by this hvd; DESTROY the job first",
			   vm->domain);
		hv_table_lock();
		hv_table_remove_locked(vm);
		hv_table_unlock();
		hv_vm_unref(vm);
		return -1;
	}
	struct vj_err ignore;
	hv_rmdir_flat(vm->disk_dir, &ignore);
	hv_rmdir_flat(vm->run_dir, &ignore);
	hv_scratch_remove(cfg, vm->d.job, &ignore);
	rc = hv_vm_build(cfg, vm, t0, err);
	bool built = rc == 0; /* else its phases undid themselves */
	hv_table_lock();
	if (built && vm->abort)
		rc = vj_err_set(err, ECANCELED, "destroyed during start-up");
	if (rc) {
		vm->state = HV_VM_DESTROYING;
		hv_table_unlock();
		vj_err_prefix(err, "cannot start the VM of job %s", vm->d.job);
		hv_err("%s", err->msg);
		if (built) { /* a DESTROY came after the last phase: undo it all */
			hv_vm_teardown(vm);
			scratch_remove(cfg, vm->d.job);
		}
		hv_table_lock();
		hv_table_remove_locked(vm);
		hv_table_unlock();
		hv_vm_unref(vm);
		return -1;
	}
	vm->state = HV_VM_READY;
	hv_table_changed();
	fill_res(vm, res, domain);
	hv_table_unlock();
	hv_info("job %s: VM %s ready (%s): t_image=%ld t_scratch=%ld t_domain=%ld t_agent=%ld ms",
		vm->d.job, vm->domain, res->virt, res->t_image, res->t_scratch, res->t_domain,
		res->t_agent);
	hv_vm_unref(vm);
	return 0;
}

int hv_vm_destroy(const struct hv_config *cfg, const char *job, struct vj_err *err)
{
	hv_table_lock();
	struct hv_vm *vm = hv_table_find_locked(job);
	if (!vm) {
		hv_table_unlock();
		/* Not in our table (e.g. hvd restarted): the real systems are the
		 * truth, so clean whatever of the job they still hold. */
		struct hv_vm tmp = {.agent_fd = -1};
		snprintf(tmp.d.job, sizeof(tmp.d.job), "%s", job);
		hv_vm_paths(cfg, &tmp);
		/* Another hvd on this host (another instance) may run this job's
		 * domain name: never destroy what is not ours. */
		char owner[PATH_MAX];
		int own = hv_domain_ours(tmp.domain, cfg->instance, owner, sizeof(owner));
		if (own < 0)
			return vj_err_set(err, EIO, "cannot tell whose domain %s is (libvirt)", tmp.domain);
		if (own == 0) {
			hv_info("job %s: domain %s belongs to hvd instance %s; left alone", job,
				tmp.domain, owner);
			return 0;
		}
		int d = hv_domain_destroy(tmp.domain, err);
		if (d < 0)
			return -1;
		if (hv_scratch_remove(cfg, job, err) || hv_rmdir_flat(tmp.disk_dir, err) ||
		    hv_rmdir_flat(tmp.run_dir, err))
			return -1;
		if (d > 0)
			hv_info("job %s: destroyed domain %s (not in hvd's table)", job, tmp.domain);
		return 0;
	}
	hv_vm_ref_locked(vm);
	if (vm->state == HV_VM_BOOTING || vm->state == HV_VM_DESTROYING) {
		/* The creator (or another DESTROY) cleans up; wait for it. */
		if (vm->state == HV_VM_BOOTING)
			hv_info("job %s: DESTROY during start-up; aborting the CREATE", job);
		vm->abort = true;
		while (hv_table_find_locked(job) == vm)
			hv_table_wait();
		hv_table_unlock();
		hv_vm_unref(vm);
		return 0;
	}
	vm->state = HV_VM_DESTROYING;
	hv_table_changed();
	hv_table_unlock();
	hv_info("job %s: destroying VM %s", job, vm->domain);
	hv_vm_sample_job(vm);
	hv_vm_teardown(vm);
	scratch_remove(cfg, vm->d.job);
	hv_table_lock();
	hv_table_remove_locked(vm);
	hv_table_unlock();
	hv_vm_unref(vm);
	return 0;
}
