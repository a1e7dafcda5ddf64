/* One VM as hvd sees it, and the table of them. The table lock guards the
 * list, each VM's state fields and refcounts; it is never held across fetch,
 * disk, libvirt or boot work. Stream lists have their own per-VM lock. */
#ifndef HV_VM_H
#define HV_VM_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/vmdesc.h"
#include "err.h"
#include "frame.h"
#include "names.h"

enum hv_vm_state { HV_VM_BOOTING, HV_VM_READY, HV_VM_STOPPED, HV_VM_DESTROYING };

struct hv_vm {
	/* What it is (base/vmdesc.h): fixed at creation, but for virt and the
	 * phase times, which are set under the table lock once it is ready. */
	struct hv_vmdesc d;
	char domain[80];
	bool scratch_asked; /* the size came from the job (--vm-scratch) */
	bool adopting; /* found at start-up (adopt.c), not created by a CREATE */
	/* QEMU may be in its job's extern step (hvd.conf account_to_job): the
	 * slurmd spool dir to reach that step, else NULL (slurm/stepd.h). */
	const char *job_spool;
	char run_dir[PATH_MAX], disk_dir[PATH_MAX];

	/* under the table lock */
	enum hv_vm_state state;
	bool abort; /* a DESTROY arrived while booting */
	int refs;

	/* agent channel: fd written under agent_wlock, read only by the reader thread */
	int agent_fd;
	struct vj_reader agent_rd;
	pthread_mutex_t agent_wlock;
	pthread_t reader;
	bool reader_running;

	/* Its relay (agent/relay.h), which holds the agent channel and the
	 * running commands; agent_fd is the connection to it. relay_child: we
	 * started it (else an earlier hvd did). */
	pid_t relay_pid;
	bool relay_child, relay_failed;

	/* under slock: stream ids handed out; no new commands once gone */
	pthread_mutex_t slock;
	uint32_t next_stream;
	bool agent_gone;

	/* filesystem gateway servers (fsexport.c), our children; 0 = none */
	pid_t fs_pids[8]; /* HV_MAX_EXPORTS */
	unsigned nfs;

	struct hv_vm *next;
};

const char *hv_vm_state_name(enum hv_vm_state s);

void hv_table_lock(void);
void hv_table_unlock(void);
/* Wait for any VM state change (table lock held). */
void hv_table_wait(void);
void hv_table_changed(void);
/* A READY VM becomes STOPPED (its agent left, its gateway died): true if it
 * was READY, so one caller reports it. Takes the table lock. */
bool hv_vm_mark_stopped(struct hv_vm *vm);
struct hv_vm *hv_table_find_locked(const char *job);
void hv_table_add_locked(struct hv_vm *vm);
void hv_table_remove_locked(struct hv_vm *vm);
/* Call fn for every VM, table lock held: fn must not block. */
void hv_table_foreach_locked(void (*fn)(struct hv_vm *, void *), void *ud);

struct hv_vm *hv_vm_new(void);
void hv_vm_ref_locked(struct hv_vm *vm);
/* Drops a reference; frees the VM at zero. Takes the table lock. */
void hv_vm_unref(struct hv_vm *vm);

#endif
