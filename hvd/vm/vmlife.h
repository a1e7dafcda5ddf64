/* A VM's life: CREATE (image, disks, domain, agent) and DESTROY, each
 * undoing everything on failure. */
#ifndef HV_VMLIFE_H
#define HV_VMLIFE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "base/vmdesc.h"
#include "err.h"
#include "names.h"

/* A CREATE: rq is the request (vmdesc.h, HV_IN_CREATE fields); on success
 * res is the VM as it runs and domain its libvirt name. */

int hv_vm_create(const struct hv_config *cfg, const struct hv_vmdesc *rq, struct hv_vmdesc *res,
		 char domain[80], struct vj_err *err);
int hv_vm_destroy(const struct hv_config *cfg, const char *job, struct vj_err *err);

struct hv_vm;
/* run_dir, disk_dir and domain name of vm->d.job. */
void hv_vm_paths(const struct hv_config *cfg, struct hv_vm *vm);
/* Remove every trace of the VM: agent channel, domain, files, dirs. */
void hv_vm_teardown(struct hv_vm *vm);
/* If its QEMU is in its job's extern step, make Slurm sample the job's
 * accounting now (slurm/stepd.h); failures only logged (debug). */
void hv_vm_sample_job(struct hv_vm *vm);
/* Has a DESTROY asked this booting VM (void *: an hv_vm) to stop? For the
 * agent wait's abort callback. Takes the table lock. */
bool hv_vm_aborted(void *ud);

#endif
