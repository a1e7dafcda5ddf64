/* Host commands (docs/internals.md, "Host commands"): the Slurm commands a
 * job runs inside its VM (srun, sbatch, scontrol, ...) come to the task's
 * vmexec as HOSTCMD streams on its exec connection, and run here, on the
 * host, as the job's owner, inside the job step's environment. What the
 * guest sends is hostile: the command must be on the allow-list (found in
 * fixed system directories, never on a PATH the guest chose), runs without
 * a shell, gets the step's own environment with only Slurm's variables of
 * the guest's on top (never SLURM_CONF, LD_*, PATH or anything else), and
 * starts in the guest's directory only where hvd said it is shared. */
#ifndef VMJOB_HOSTCMD_H
#define VMJOB_HOSTCMD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

#define VJ_HOSTCMD_MAX 64 /* at once, per exec stream */

struct vj_hostcmds;

/* The running commands of one exec connection (sock: to hvd). NULL if out
 * of memory. */
struct vj_hostcmds *vj_hostcmds_new(int sock);
/* Kill (SIGKILL) and reap what still runs, free everything. */
void vj_hostcmds_free(struct vj_hostcmds *hc);

/* A frame from hvd on a host-command stream (VJ_HOST_STREAM set):
 * HOSTCMD starts one, STDIN, SIGNAL and WINSIZE go to it. */
void vj_hostcmds_frame(struct vj_hostcmds *hc, const struct vj_frame *f);

/* The fds to poll (at most VJ_HOSTCMD_MAX * 4), into p; their count. */
size_t vj_hostcmds_pollfds(struct vj_hostcmds *hc, struct pollfd *p);
/* After poll: act on p[0..n) (as filled by vj_hostcmds_pollfds). */
void vj_hostcmds_events(struct vj_hostcmds *hc, const struct pollfd *p, size_t n);

/* The allow-list: true if name (a bare command name) may be run. */
bool vj_hostcmd_allowed(const char *name);
/* Whether a guest's environment entry K=V may override the step's. */
bool vj_hostcmd_env_allowed(const char *entry);

#endif
