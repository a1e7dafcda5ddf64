#include "admit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "drain.h"
#include "vm.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint64_t mem_total_mb;

static void read_meminfo(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return;
	char line[256];
	unsigned long long kb;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			mem_total_mb = kb / 1024;
			break;
		}
	fclose(f);
}

uint64_t hv_host_mem_mb(void)
{
	pthread_once(&once, read_meminfo);
	return mem_total_mb;
}

struct usage {
	uint64_t mem;
	unsigned n;
};

static void add(struct hv_vm *vm, void *ud)
{
	struct usage *u = ud;
	u->mem += vm->d.mem_mb;
	u->n++;
}

void hv_usage_locked(uint64_t *mem_mb, unsigned *vms)
{
	struct usage u = {0, 0};
	hv_table_foreach_locked(add, &u);
	*mem_mb = u.mem;
	*vms = u.n;
}

int hv_admit_locked(const struct hv_config *cfg, unsigned mem_mb, struct vj_err *err)
{
	char why[256];
	if (hv_drained(why, sizeof(why)))
		return vj_err_set(err, EAGAIN, "host drained: no new VMs (%s)",
				  why[0] ? why : "no reason given");
	uint64_t used;
	unsigned n;
	/* Every VM in the table counts, booting or stopped: its memory is
	 * committed until it is destroyed. */
	hv_usage_locked(&used, &n);
	used += (uint64_t)n * cfg->vm_memory_overhead_mb; /* each VM's QEMU beside its guest */
	if (cfg->max_vms && n >= cfg->max_vms)
		return vj_err_set(err, EAGAIN, "host full: %u of max_vms=%u VMs running", n,
				  cfg->max_vms);
	uint64_t total = hv_host_mem_mb();
	if (total == 0)
		return 0; /* no /proc/meminfo: nothing to check against */
	uint64_t reserve = cfg->host_mem_reserve_mb;
	uint64_t avail = total > reserve + used ? total - reserve - used : 0;
	if (mem_mb > avail)
		return vj_err_set(err, ENOMEM,
				  "not enough memory: job asks %u MiB, %llu MiB free after the %llu MiB host reserve (%llu MiB host, %llu MiB in %u VMs)",
				  mem_mb, (unsigned long long)avail, (unsigned long long)reserve,
				  (unsigned long long)total, (unsigned long long)used, n);
	return 0;
}

int hv_guest_mem(const struct hv_config *cfg, unsigned job_mb, unsigned *guest_mb,
		 struct vj_err *err)
{
	uint64_t overhead = cfg->vm_memory_overhead_mb;
	if (job_mb < overhead + HV_GUEST_MIN_MB)
		return vj_err_set(err, EINVAL,
				  "the job's %u MiB leave too little for a VM: QEMU needs %llu MiB of "
				  "them (hvd.conf vm_memory_overhead_mb) and the guest at least %u; ask "
				  "for %llu MiB or more (--mem)",
				  job_mb, (unsigned long long)overhead, HV_GUEST_MIN_MB,
				  (unsigned long long)(overhead + HV_GUEST_MIN_MB));
	*guest_mb = job_mb - (unsigned)overhead;
	return 0;
}
