/* CREATE's work, phase by phase (vmbuild.h). Each phase makes one kind of
 * thing (the cached image, the VM's directories and root overlay, the
 * scratch volume, the gateway servers and the domain, the agent link) and
 * each undo removes exactly that kind; undos tolerate a phase that failed
 * halfway, so a failing phase is undone too. Between phases a DESTROY that
 * arrived meanwhile stops the creation (ECANCELED). */
#include "vmbuild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agentconn.h"
#include "agent/relay.h"
#include "base/cpuset.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "cleanup.h"
#include "gateway/fsexport.h"
#include "images/catalogue.h"
#include "images/imgcache.h"
#include "images/overlay.h"
#include "libvirt/domain.h"
#include "libvirt/domquery.h"
#include "libvirt/probe.h"
#include "net/bridge.h"
#include "net/netguard.h"
#include "scratch/scratch.h"
#include "slurm/stepd.h"
#include "vmlife.h"

/* One creation in progress: what the phases hand each other. */
struct build {
	const struct hv_config *cfg;
	struct hv_vm *vm;
	long long t0;
	struct hv_image im;
	char root[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX];
	char overlay[PATH_MAX + 16], console[PATH_MAX + 16], agent[PATH_MAX + 16];
	struct hv_scratch scratch;
	char virt[8];
	struct hv_domain_spec spec;
	char cmdline[4096], numa_nodes[256];
	char mac[HV_MAC_SZ], tap[HV_TAP_SZ]; /* network = bridge */
	char fs_sock[HV_MAX_EXPORTS][PATH_MAX + 16];
	const char *fs_socks[HV_MAX_EXPORTS];
	long t_image, t_scratch, t_domain, t_agent;
};

static long since(const struct build *b)
{
	return (long)(hv_now_ms() - b->t0);
}

/* The catalogue entry and its base files in the cache (shared, kept). */
static int image(struct build *b, struct vj_err *err)
{
	const struct hv_config *cfg = b->cfg;
	struct hv_image *im = &b->im;
	if (hv_catalogue_find(cfg->catalogue, b->vm->d.image, im, err) ||
	    hv_cache_ensure(cfg->cache_dir, im->name, "root", &im->root, b->root, sizeof(b->root), err) ||
	    hv_cache_ensure(cfg->cache_dir, im->name, "kernel", &im->kernel, b->kernel,
			    sizeof(b->kernel), err) ||
	    hv_cache_ensure(cfg->cache_dir, im->name, "initrd", &im->initrd, b->initrd,
			    sizeof(b->initrd), err))
		return -1;
	return 0;
}

/* The VM's directories and its copy-on-write root in them. QEMU (an
 * unprivileged user under libvirt's DAC driver) must traverse them but
 * need not list them: 0711. libvirt chowns the files. */
static int disks(struct build *b, struct vj_err *err)
{
	struct hv_vm *vm = b->vm;
	if (mkdir(vm->disk_dir, 0711) < 0)
		return vj_err_sys(err, errno, "cannot create %s", vm->disk_dir);
	if (mkdir(vm->run_dir, 0711) < 0)
		return vj_err_sys(err, errno, "cannot create %s", vm->run_dir);
	if (hv_disk_overlay(b->root, b->im.root_format, b->overlay, err))
		return -1;
	b->t_image = since(b);
	return 0;
}

static void undo_disks(struct build *b)
{
	struct vj_err err = {0};
	if (hv_rmdir_flat(b->vm->disk_dir, &err) || hv_rmdir_flat(b->vm->run_dir, &err))
		hv_err("job %s: %s", b->vm->d.job, err.msg);
}

/* File or LV (hvd.conf scratch_backend); why names the size's source. */
static int scratch(struct build *b, struct vj_err *err)
{
	struct hv_vm *vm = b->vm;
	char why[96];
	hv_scratch_size_mb(b->cfg, vm->scratch_asked ? vm->d.scratch_mb : 0, vm->d.cpus, why, sizeof(why));
	if (hv_scratch_create(b->cfg, vm->d.job, vm->d.scratch_mb, why, &b->scratch, err))
		return -1;
	b->t_scratch = since(b);
	return 0;
}

static void undo_scratch(struct build *b)
{
	struct vj_err err = {0};
	if (hv_scratch_remove(b->cfg, b->vm->d.job, &err))
		hv_err("job %s: %s", b->vm->d.job, err.msg);
}

/* The guest's kernel command line: the image's, then what vmjob tells it. */
static int cmdline(struct build *b, struct vj_err *err)
{
	char fs[HV_MAX_EXPORTS * 270], net[160];
	if (hv_fs_cmdline(b->cfg, b->vm->d.uid, b->vm->d.gid, fs, sizeof(fs), err))
		return -1;
	hv_net_cmdline(b->cfg, net, sizeof(net));
	const char *ic = b->im.cmdline;
	/* vmjob.init=image: the initrd starts the image's /sbin/init, which
	 * starts the agent as a unit (images/initrd/init). */
	snprintf(b->cmdline, sizeof(b->cmdline), "%s%svmjob.hostname=%s%s%s%s", ic, ic[0] ? " " : "",
		 b->vm->domain, b->im.init == HV_INIT_IMAGE ? " vmjob.init=image" : "", fs, net);
	return 0;
}

static void fill_spec(struct build *b)
{
	const struct hv_config *cfg = b->cfg;
	struct hv_vm *vm = b->vm;
	for (unsigned i = 0; i < cfg->nexports; i++) {
		hv_fs_sock_path(vm->run_dir, i, b->fs_sock[i], sizeof(b->fs_sock[i]));
		b->fs_socks[i] = b->fs_sock[i];
	}
	hv_numa_nodes_of("/sys/devices/system/node", vm->d.cores, b->numa_nodes, sizeof(b->numa_nodes));
	b->spec = (struct hv_domain_spec){
		.name = vm->domain, .d = vm->d, .kernel = b->kernel, .initrd = b->initrd,
		.cmdline = b->cmdline, .overlay = b->overlay, .scratch = b->scratch.path,
		.scratch_block = b->scratch.block, .console_log = b->console, .agent_sock = b->agent,
		.pin_vcpus = cfg->pin_vcpus, .numa_mode = cfg->numa, .numa_nodes = b->numa_nodes, .disk_cache = cfg->disk_cache, .disk_io = cfg->disk_io,
		.fs_socks = b->fs_socks, .nfs = cfg->nexports, .fs_virtiofs = hv_fs_virtiofs(cfg),
		.net_user = cfg->network == HV_NET_USER,
	};
	if (cfg->network == HV_NET_BRIDGE) {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		hv_bridge_ids(host, cfg->instance, vm->d.job, b->mac, b->tap);
		b->spec.bridge = cfg->bridge;
		b->spec.mac = b->mac;
		b->spec.tap = b->tap;
		b->spec.net_filter = cfg->bridge_filter == HV_BRFILTER_CLEAN;
	}
	snprintf(b->spec.d.virt, sizeof(b->spec.d.virt), "%s", b->virt); /* the probe's answer */
}

/* QEMU, started paused, into the job's extern step (slurm/stepd.h) before
 * the guest runs: Slurm then accounts all the VM's CPU time and memory to
 * the job and bounds them by its cores and memory (task/cgroup), and the
 * guest's RAM is charged to the job's cgroup from its first page. A VM
 * that cannot join still runs: the job is not lost for its accounting. */
void hv_vm_into_job(const struct hv_config *cfg, struct hv_vm *vm)
{
	struct vj_err e = {0};
	pid_t pid = hv_domain_qemu_pid(vm->domain, &e);
	if (pid < 0 || hv_stepd_adopt(cfg->slurmd_spool_dir, vm->d.job, pid, &e)) {
		if (e.code == ENOENT && strspn(vm->d.job, "0123456789") != strlen(vm->d.job))
			hv_debug("job %s: not a Slurm job; its VM is accounted to none", vm->d.job);
		else
			hv_warn("job %s: its VM is not accounted to the job in Slurm: %s", vm->d.job, e.msg);
		return;
	}
	vm->job_spool = cfg->slurmd_spool_dir;
	/* Joining the job's cpuset reset QEMU's threads to all its cores. */
	if (cfg->pin_vcpus && vm->d.cores[0] && hv_domain_repin(vm->domain, vm->d.cores, vm->d.cpus, &e))
		hv_warn("job %s: %s", vm->d.job, e.msg);
	hv_info("job %s: QEMU (pid %d) is in the job's extern step", vm->d.job, (int)pid);
}

/* The filesystem gateways and the domain. vhost-user: QEMU connects to the
 * gateways while it starts, so they listen first; serial: QEMU makes the
 * channels, so they start after it (while the guest boots, which mounts
 * the exports before its agent says HELLO). */
static int domain(struct build *b, struct vj_err *err)
{
	if (hv_probe_virt(b->cfg, b->kernel, b->initrd, b->im.cmdline, b->virt, err) ||
	    cmdline(b, err))
		return -1;
	fill_spec(b);
	cleanup_free char *xml = hv_domain_xml(&b->spec);
	if (!xml)
		return vj_err_set(err, ENOMEM, "out of memory building the domain XML");
	hv_debug("job %s: domain XML:\n%s", b->vm->d.job, xml);
	if (b->spec.fs_virtiofs && hv_fs_start(b->cfg, b->vm, b->virt, err))
		return -1;
	bool join = b->cfg->account_to_job;
	if (hv_domain_start(xml, b->vm->domain, join, err))
		return -1;
	if (join) {
		hv_vm_into_job(b->cfg, b->vm);
		if (hv_domain_resume(b->vm->domain, err))
			return -1;
	}
	b->t_domain = since(b);
	if (!b->spec.fs_virtiofs && hv_fs_start(b->cfg, b->vm, b->virt, err))
		return -1;
	return 0;
}

static void undo_domain(struct build *b)
{
	struct vj_err err = {0};
	if (hv_domain_destroy(b->vm->domain, &err) < 0)
		hv_err("job %s: %s", b->vm->d.job, err.msg);
	hv_relay_reap(b->vm);
	hv_fs_stop(b->vm); /* after the domain: its channels are closed by now */
}

/* Why the agent did not come: the console's last line says most. */
static void boot_failed(struct build *b, struct vj_err *err)
{
	char tail[200], last[240];
	hv_file_last_line(b->console, tail, sizeof(tail));
	if (tail[0])
		snprintf(last, sizeof(last), "last console line: '%s'", tail);
	else
		snprintf(last, sizeof(last), "the console printed nothing");
	hv_warn("job %s: %s", b->vm->d.job, last);
	if (err->code == ETIMEDOUT)
		vj_err_set(err, ETIMEDOUT, "the guest agent did not answer within %u s (boot_timeout; %s)",
			   b->cfg->boot_timeout, last);
	else
		vj_err_prefix(err, "boot failed (%s)", last);
}

/* The agent's HELLO, then its reader; the phase times go to libvirt too,
 * so a restarted hvd still knows them. */
static int agent(struct build *b, struct vj_err *err)
{
	struct hv_vm *vm = b->vm;
	long long deadline = hv_now_ms() + (long long)b->cfg->boot_timeout * 1000;
	/* The relay holds the channel from now on (agent/relay.h). */
	if (hv_relay_spawn(vm, err))
		return -1;
	if (hv_relay_connect(vm, deadline, false, err)) {
		if ((err->code == ETIMEDOUT || err->code == EPIPE) && !vm->relay_failed)
			boot_failed(b, err);
		return -1;
	}
	b->t_agent = since(b);
	b->spec.d.t_image = b->t_image, b->spec.d.t_scratch = b->t_scratch;
	b->spec.d.t_domain = b->t_domain, b->spec.d.t_agent = b->t_agent;
	struct vj_err merr = {0};
	if (hv_domain_set_meta(vm->domain, &b->spec.d, &merr))
		hv_warn("job %s: %s", vm->d.job, merr.msg);
	return hv_relay_start(vm, err);
}

static void undo_agent(struct build *b)
{
	hv_relay_stop(b->vm);
}

static const struct phase {
	const char *name;
	int (*run)(struct build *b, struct vj_err *err);
	void (*undo)(struct build *b);
} phases[] = {
	{"image", image, NULL}, /* cache files are shared; the cache trims them */
	{"disks", disks, undo_disks},
	{"scratch", scratch, undo_scratch},
	{"domain", domain, undo_domain},
	{"agent", agent, undo_agent},
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

int hv_vm_build(const struct hv_config *cfg, struct hv_vm *vm, long long t0, struct vj_err *err)
{
	cleanup_free struct build *b = calloc(1, sizeof(*b));
	if (!b)
		return vj_err_set(err, ENOMEM, "out of memory");
	b->cfg = cfg, b->vm = vm, b->t0 = t0;
	snprintf(b->overlay, sizeof(b->overlay), "%s/root.qcow2", vm->disk_dir);
	snprintf(b->console, sizeof(b->console), "%s/console.log", vm->run_dir);
	snprintf(b->agent, sizeof(b->agent), "%s/agent.sock", vm->run_dir);
	size_t k;
	for (k = 0; k < NPHASES; k++) {
		int rc = phases[k].run(b, err);
		if (rc == 0 && k + 1 < NPHASES && hv_vm_aborted(vm))
			rc = vj_err_set(err, ECANCELED, "destroyed during start-up");
		if (rc < 0)
			break;
	}
	if (k < NPHASES) {
		hv_info("job %s: start-up failed in phase '%s'; undoing it and the %zu before it",
			vm->d.job, phases[k].name, k);
		for (size_t i = k + 1; i-- > 0;)
			if (phases[i].undo)
				phases[i].undo(b);
		return -1;
	}
	hv_table_lock();
	strcpy(vm->d.virt, b->virt);
	vm->d.t_image = b->t_image;
	vm->d.t_scratch = b->t_scratch;
	vm->d.t_domain = b->t_domain;
	vm->d.t_agent = b->t_agent;
	hv_table_unlock();
	return 0;
}
