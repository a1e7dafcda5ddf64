/* A VM's creation as a list of phases, each with its undo (vmbuild.c). */
#ifndef HV_VMBUILD_H
#define HV_VMBUILD_H

#include "base/config.h"
#include "err.h"
#include "vm.h"

/* Bring vm (in the table, BOOTING, paths set) up to a connected agent, its
 * phase times recorded; t0 is the CREATE's arrival (ms, hv_now_ms). On
 * failure at any phase, the undos of that phase and every earlier one have
 * run, in reverse: nothing of the VM is left on the host. 0, or -1 with
 * err set (the phase is logged, not added to the user's line). */
int hv_vm_build(const struct hv_config *cfg, struct hv_vm *vm, long long t0, struct vj_err *err);

/* Put the VM's QEMU (its domain started paused) into its job's extern step
 * and pin its vCPUs again; logged, never fatal (hvd.conf account_to_job). */
void hv_vm_into_job(const struct hv_config *cfg, struct hv_vm *vm);

#endif
