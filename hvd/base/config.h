/* hvd.conf: `key = value` lines, `#` comments. Parsed in one place; every
 * other part reads the resulting struct. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define HV_MAX_EXPORTS 8 /* hvd.conf export lines (fsexport.c) */

#ifndef VJ_SYSCONFDIR
#define VJ_SYSCONFDIR "/etc"
#endif
#ifndef VJ_LOCALSTATEDIR
#define VJ_LOCALSTATEDIR "/var"
#endif
#ifndef VJ_RUNSTATEDIR
#define VJ_RUNSTATEDIR "/run"
#endif

#define HV_DEFAULT_CONFIG VJ_SYSCONFDIR "/vmjob/hvd.conf"
#define HV_DEFAULT_SOCKET VJ_RUNSTATEDIR "/vmjob/hvd.sock"

struct hv_config {
	char socket[PATH_MAX];    /* the request socket (0666) */
	char run_dir[PATH_MAX];   /* per-VM sockets and console logs live in run_dir/vm/<job> */
	char state_dir[PATH_MAX]; /* per-VM disks in state_dir/vm/<job>, probe cache */
	char cache_dir[PATH_MAX]; /* content-addressed image files */
	char pidfile[PATH_MAX];
	char catalogue[2048];     /* URL: http://, https://, file:// */
	char libvirt_uri[256];
	char virt_type[8];        /* auto | kvm | qemu */
	char qemu[PATH_MAX];      /* emulator used by the KVM probe */
	unsigned boot_timeout;    /* seconds to wait for the agent's HELLO */
	unsigned probe_timeout;   /* seconds for the KVM probe boot */
	uint64_t default_scratch_mb;
	uint64_t cache_size_mb;   /* image cache limit (LRU of unused files), 0 = none */
	uint64_t scratch_mb_per_cpu; /* 0 = default_scratch_mb whatever the CPU count */
	char scratch_backend[8];      /* file | lvm (scratch.h) */
	char scratch_vg[128];         /* the VG of the lvm backend */
	char scratch_thinpool[128];   /* lvm: thin pool in scratch_vg, "" = linear LVs */
	char scratch_lvm_wipe[8];     /* lvm, linear LVs: zero | none (scratch_lvm.c) */
	int log_level;            /* syslog priority */
	/* Besides root, the one user who may CREATE and DESTROY VMs and see them
	 * all (hvd/auth.c): Slurm's SlurmUser, for sites whose prolog/epilog
	 * run as it. One user, not a list: it names a service account. */
	char slurm_user[64];

	/* Identity written into each domain's metadata: a restarted hvd adopts
	 * only its own domains, so two hvds on one host never fight. */
	char instance[PATH_MAX];  /* default: state_dir */
	unsigned reap_interval;   /* s between checks for VMs of ended jobs; 0 = off */

	/* Density knobs (etc/hvd.conf says why each exists). */
	unsigned max_vms;         /* 0 = no limit but memory */
	uint64_t host_mem_reserve_mb;
	bool pin_vcpus;           /* vCPU i -> the job's i-th allocated core */
	char numa[12];            /* off | preferred | strict */
	char disk_cache[16];      /* none | writeback | writethrough | directsync | unsafe */
	char disk_io[12];         /* threads | native | io_uring */

	/* Shared trees re-exported into every VM (fsexport.h), same path inside. */
	char exports[HV_MAX_EXPORTS][256];
	unsigned nexports;
	/* How the exports reach the guest: virtiofs (a vhost-user-fs device
	 * served by vmfs-server) | serial (FUSE over a virtio-serial port). */
	char fs_transport[12];
};

void hv_config_defaults(struct hv_config *c);
/* Load path over the defaults. A missing file is an error only if must_exist. */
int hv_config_load(struct hv_config *c, const char *path, bool must_exist, struct vj_err *err);

#endif
