/* Host CPU lists as Slurm and the kernel write them ("0-3,8,10-11") and the
 * NUMA nodes they sit on: what vCPU pinning and memory placement need. */
#ifndef HV_CPUSET_H
#define HV_CPUSET_H

#include <stddef.h>

/* Parse a list into cpus[0..*n) in order, at most max entries. 0, or -1 if
 * malformed (empty ranges, reversed ranges, numbers above 65535, too many). */
int hv_cpulist_parse(const char *s, unsigned *cpus, size_t max, size_t *n);

/* The NUMA nodes holding any CPU of cores, as a list ("0" or "0,1"), read
 * from sysfs_node_dir (normally /sys/devices/system/node). "" if unknown. */
void hv_numa_nodes_of(const char *sysfs_node_dir, const char *cores, char *out, size_t outsz);

#endif
