/* The libvirt side of a VM: the domain XML (job names, image names and the
 * catalogue's cmdline end up in it, escaped by libxml2) and the few libvirt
 * calls hvd makes. The domain is transient: it exists while QEMU runs. */
#ifndef HV_DOMAIN_H
#define HV_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/config.h"
#include "base/vmdesc.h"
#include "err.h"

#define HV_DOMAIN_PREFIX "vmjob-"
#define HV_METADATA_NS "https://vmjob.example.org/xmlns/vm/1"

struct hv_domain_spec {
	const char *name;
	/* What the VM is: sizes, cores (its cpuset), virt (kvm | qemu), and the
	 * job's identity and phase times, written as the domain's metadata so a
	 * restarted hvd rebuilds its whole view from libvirt (design.md). */
	struct hv_vmdesc d;
	const char *kernel, *initrd, *cmdline;
	const char *overlay, *scratch, *console_log, *agent_sock;
	bool scratch_block;      /* scratch is a block device (an LV), not a file */
	/* density knobs (hvd.conf) */
	bool pin_vcpus;         /* vcpupin each vCPU to one core of cpuset */
	enum hv_numa numa_mode;
	const char *numa_nodes; /* host NUMA nodes of cpuset, "" = unknown */
	enum hv_disk_cache disk_cache;
	enum hv_disk_io disk_io;
	/* filesystem gateway sockets (fsexport.h), export i on socket i:
	 * virtiofs: vhost-user-fs device with tag vmjob.fs.<i> (guest memory
	 * then shared, as vhost-user needs); else channel org.vmjob.fs.<i> */
	const char *const *fs_socks;
	unsigned nfs;
	bool fs_virtiofs;
	bool net_user; /* a virtio NIC on QEMU's user-mode NAT (net/netguard.h) */
	/* Or a virtio NIC on a tap of this bridge (net/bridge.h), with this MAC
	 * and tap name and, if net_filter, libvirt's clean-traffic filter. */
	const char *bridge;
	const char *mac, *tap;
	bool net_filter;
};

/* TCG guests' translation cache (MiB), in QEMU's overhead. */
#define HV_TCG_TB_CACHE_MIB "64"

/* The domain XML (domxml.c, written with libxml2): malloc'd, NULL on
 * out-of-memory. */
char *hv_domain_xml(const struct hv_domain_spec *s);

/* One shared connection (libvirt connections are thread-safe), reopened if
 * it broke. */
int hv_libvirt_open(const char *uri, struct vj_err *err);
/* libvirt's last error message for this thread on one line, never NULL. */
const char *hv_libvirt_errmsg(void);
/* paused: QEMU is made but runs no guest code until hv_domain_resume (so
 * it can join the job's cgroups before the guest touches its memory). */
int hv_domain_start(const char *xml, const char *name, bool paused, struct vj_err *err);
int hv_domain_resume(const char *name, struct vj_err *err);
/* Where libvirt's system QEMU driver keeps its per-domain pid files. */
#define HV_LIBVIRT_QEMU_RUN "/run/libvirt/qemu"
/* The pid of the domain's QEMU (libvirt's pid file, checked against the
 * process's command line), or -1 with err. */
pid_t hv_domain_qemu_pid(const char *name, struct vj_err *err);
/* Pin again, live, as the domain XML pinned them (vCPU i on the i-th of
 * cores, QEMU's other threads on all): moving QEMU into another cpuset
 * cgroup resets its threads' affinity to that cgroup's cores. */
int hv_domain_repin(const char *name, const char *cores, unsigned vcpus, struct vj_err *err);
/* Destroy if it exists: 1 destroyed, 0 none, -1 error. */
int hv_domain_destroy(const char *name, struct vj_err *err);
/* 1 paused (started paused, not resumed yet), 0 not, -1 cannot tell. */
int hv_domain_paused(const char *name);
/* 1 running, 0 not, -1 cannot tell. */
int hv_domain_running(const char *name);

/* The shared connection with a reference the caller drops with
 * virConnectClose (domquery.c builds on it). NULL with err set. */
struct _virConnect;
struct _virConnect *hv_libvirt_get(struct vj_err *err);

#endif
