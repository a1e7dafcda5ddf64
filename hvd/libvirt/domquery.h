/* Reading hvd's domains back from libvirt: the listing a restarted hvd
 * adopts from, the metadata update that records phase times, and the
 * counters hvctl's cpu and metrics verbs sample. */
#ifndef HV_DOMQUERY_H
#define HV_DOMQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "err.h"

/* Replace the live domain's vmjob metadata with vd. */
int hv_domain_set_meta(const char *name, const struct hv_vmdesc *vd, struct vj_err *err);

/* Call fn for every active domain named HV_DOMAIN_PREFIX*, with its vmjob
 * metadata element (NULL if it has none). 0, or -1 if libvirt cannot list. */
int hv_domain_foreach(void (*fn)(const char *name, const char *meta, void *ud), void *ud,
		      struct vj_err *err);

/* May this hvd touch domain name? 1 yes (ours, or no such domain), 0 no
 * (another instance's, or no vmjob metadata), -1 libvirt cannot tell.
 * owner[sz] gets the other instance's name for messages. */
int hv_domain_ours(const char *name, const char *instance, char *owner, size_t sz);

/* Cumulative CPU time (ns, all vCPUs and QEMU's threads) and current memory
 * (KiB) of a running domain. 0 or -1. */
int hv_domain_counters(const char *name, uint64_t *cpu_ns, uint64_t *mem_kib);

#endif
