/* A VM's life: CREATE (image, disks, domain, agent) and DESTROY, each
 * undoing everything on failure. */
#ifndef HV_VMLIFE_H
#define HV_VMLIFE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "err.h"
#include "names.h"

struct hv_create_req {
	char job[VJ_NAME_SZ], image[VJ_NAME_SZ], cores[128];
	uid_t uid;
	gid_t gid;
	unsigned cpus, mem_mb;
	uint64_t scratch_mb; /* 0 = the configured default */
};

struct hv_create_res {
	char domain[80], virt[8];
	long t_image, t_scratch, t_domain, t_agent;
};

int hv_vm_create(const struct hv_config *cfg, const struct hv_create_req *rq,
		 struct hv_create_res *res, struct vj_err *err);
int hv_vm_destroy(const struct hv_config *cfg, const char *job, struct vj_err *err);

struct hv_vm;
/* run_dir, disk_dir and domain name of vm->job. */
void hv_vm_paths(const struct hv_config *cfg, struct hv_vm *vm);
/* Remove every trace of the VM: agent channel, domain, files, dirs. */
void hv_vm_teardown(struct hv_vm *vm);
/* Has a DESTROY asked this booting VM (void *: an hv_vm) to stop? For the
 * agent wait's abort callback. Takes the table lock. */
bool hv_vm_aborted(void *ud);

#endif
