/* hvd.conf: `key = value` lines, `#` comments. Parsed in one place; every
 * other part reads the resulting struct. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "paths.h"

#define HV_MAX_EXPORTS 8 /* hvd.conf export lines (fsexport.c) */
#define HV_MAX_NET_ALLOW 16 /* hvd.conf network_allow lines (netguard.c) */


/* Settings that are choices are parsed once, at load time, into these; the
 * words hvd.conf accepts are the *_WORDS entries, in enum order (and are
 * what libvirt and the logs are given). */
enum hv_virt_type { HV_VIRT_AUTO, HV_VIRT_KVM, HV_VIRT_QEMU };
enum hv_scratch_backend { HV_SCRATCH_FILE, HV_SCRATCH_LVM };
enum hv_lvm_wipe { HV_LVM_WIPE_ZERO, HV_LVM_WIPE_NONE };
enum hv_numa { HV_NUMA_OFF, HV_NUMA_PREFERRED, HV_NUMA_STRICT };
enum hv_disk_cache {
	HV_CACHE_NONE, HV_CACHE_WRITEBACK, HV_CACHE_WRITETHROUGH, HV_CACHE_DIRECTSYNC, HV_CACHE_UNSAFE
};
enum hv_disk_io { HV_IO_THREADS, HV_IO_NATIVE, HV_IO_URING };
enum hv_fs_transport { HV_FS_VIRTIOFS, HV_FS_SERIAL };
enum hv_network { HV_NET_NONE, HV_NET_USER, HV_NET_BRIDGE };
enum hv_bridge_filter { HV_BRFILTER_AUTO, HV_BRFILTER_CLEAN, HV_BRFILTER_NONE };
extern const char *const HV_VIRT_TYPE_WORDS[], *const HV_SCRATCH_BACKEND_WORDS[],
	*const HV_LVM_WIPE_WORDS[], *const HV_NUMA_WORDS[], *const HV_DISK_CACHE_WORDS[],
	*const HV_DISK_IO_WORDS[], *const HV_FS_TRANSPORT_WORDS[], *const HV_NETWORK_WORDS[],
	*const HV_BRIDGE_FILTER_WORDS[];

/* network_allow: one service on this host guests may reach anyway. */
struct hv_net_allow {
	char addr[64]; /* an IPv4 or IPv6 address of this host */
	unsigned port;
	bool udp;      /* "udp:ADDR:PORT"; else tcp */
};

struct hv_config {
	char socket[PATH_MAX];    /* the request socket (0666) */
	char run_dir[PATH_MAX];   /* per-VM sockets and console logs live in run_dir/vm/<job> */
	char state_dir[PATH_MAX]; /* per-VM disks in state_dir/vm/<job>, probe cache */
	char cache_dir[PATH_MAX]; /* content-addressed image files */
	char pidfile[PATH_MAX];
	char catalogue[2048];     /* URL: http://, https://, file:// */
	char libvirt_uri[256];
	enum hv_virt_type virt_type;
	char qemu[PATH_MAX];      /* emulator used by the KVM probe */
	unsigned boot_timeout;    /* seconds to wait for the agent's HELLO */
	unsigned probe_timeout;   /* seconds for the KVM probe boot */
	uint64_t default_scratch_mb;
	uint64_t cache_size_mb;   /* image cache limit (LRU of unused files), 0 = none */
	uint64_t scratch_mb_per_cpu; /* 0 = default_scratch_mb whatever the CPU count */
	enum hv_scratch_backend scratch_backend; /* scratch.h */
	char scratch_vg[128];         /* the VG of the lvm backend */
	char scratch_thinpool[128];   /* lvm: thin pool in scratch_vg, "" = linear LVs */
	enum hv_lvm_wipe scratch_lvm_wipe; /* lvm, linear LVs (scratch_lvm.c) */
	int log_level;            /* syslog priority */
	/* Besides root, the one user who may CREATE and DESTROY VMs and see them
	 * all (hvd/auth.c): Slurm's SlurmUser, for sites whose prolog/epilog
	 * run as it. One user, not a list: it names a service account. */
	char slurm_user[64];
	/* Put each VM's QEMU into its job's extern step (slurm/stepd.h), so
	 * Slurm accounts and bounds it; slurmd's SlurmdSpoolDir, where the
	 * steps' sockets are. */
	bool account_to_job;
	/* Slurm's name for this node (slurm.conf NodeName), for the reaper: a
	 * VM of a job Slurm runs on other nodes goes. "" = the short hostname. */
	char slurm_node[256];
	char slurmd_spool_dir[PATH_MAX];
	/* Of a job's memory, what QEMU itself needs beside the guest's RAM: the
	 * guest gets the rest, so the whole VM fits what Slurm granted. */
	uint64_t vm_memory_overhead_mb;
	/* The site policy (hvd/policy/policy.h): "" = none, every job may ask
	 * for any image and none must run in a VM. Re-read on SIGHUP. */
	char policy[PATH_MAX];

	/* Identity written into each domain's metadata: a restarted hvd adopts
	 * only its own domains, so two hvds on one host never fight. */
	char instance[PATH_MAX];  /* default: state_dir */
	unsigned reap_interval;   /* s between checks for VMs of ended jobs; 0 = off */

	/* Density knobs (etc/hvd.conf says why each exists). */
	unsigned max_vms;         /* 0 = no limit but memory */
	uint64_t host_mem_reserve_mb;
	bool pin_vcpus;           /* vCPU i -> the job's i-th allocated core */
	enum hv_numa numa;
	enum hv_disk_cache disk_cache;
	enum hv_disk_io disk_io;

	/* Shared trees re-exported into every VM (fsexport.h), same path inside. */
	char exports[HV_MAX_EXPORTS][256];
	unsigned nexports;
	/* How the exports reach the guest: virtiofs (a vhost-user-fs device
	 * served by vmfs-server) | serial (FUSE over a virtio-serial port). */
	enum hv_fs_transport fs_transport;

	/* The guest's network: none; user (NAT through QEMU on this host,
	 * with this host's own addresses closed to guests: netguard.c); or
	 * bridge (a tap on the site bridge `bridge`, the guest's address from
	 * the site's DHCP, a MAC derived from instance and job, libvirt's
	 * clean-traffic filter, this host closed to guests: netguard.c). */
	enum hv_network network;
	char bridge[16];          /* network = bridge: the site bridge */
	enum hv_bridge_filter bridge_filter; /* auto: clean-traffic if libvirt has it */
	char guest_dns[64];       /* the guests' resolver ("" = none) */
	struct hv_net_allow net_allow[HV_MAX_NET_ALLOW];
	unsigned nnet_allow;
};

void hv_config_defaults(struct hv_config *c);

/* The name of hvd.conf's i-th key (0, 1, ...), NULL past the last: for the
 * test that holds etc/hvd.conf and hvd.conf(5) to the keys hvd reads. */
const char *hv_config_key(size_t i);
/* Load path over the defaults. A missing file is an error only if must_exist. */
int hv_config_load(struct hv_config *c, const char *path, bool must_exist, struct vj_err *err);

#endif
