/* Host commands (docs/internals.md, "Host commands"): Slurm's commands
 * inside a VM. The agent opens a stream of its own (VJ_HOST_STREAM) with
 * HOSTCMD naming the exec stream (the job step) it came from; hvd passes it
 * to that stream's client, the task's vmexec, which runs it on the host as
 * the job's owner, and relays the two directions until EXIT or ERROR.
 * hvd checks what it can: the parent stream exists, its client asked for
 * host commands and is not root (hvctl exec never runs them), the count is
 * bounded, and the guest's working directory is passed on only if it is
 * shared (an export: the same files on both sides). */
#ifndef HV_HOSTCMD_H
#define HV_HOSTCMD_H

#include "frame.h"
#include "vm/vm.h"

/* A frame from the agent on a VJ_HOST_STREAM stream (reader thread). */
void hv_hostcmd_from_agent(struct hv_vm *vm, const struct vj_frame *f);
/* A frame from st's client on one of its host-command streams. */
void hv_hostcmd_from_client(struct hv_vm *vm, struct hv_stream *st, const struct vj_frame *f);
/* st ends (slock held): its open host commands fail in the guest with why. */
void hv_hostcmd_end_locked(struct hv_vm *vm, struct hv_stream *st, const char *why);

#endif
