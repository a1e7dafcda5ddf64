/* network = bridge: each guest gets a virtio NIC on a tap of the site's
 * bridge, its address from the site's DHCP (the guest asks with its
 * hostname, vmjob-<job>), as worker nodes on the site network do. The MAC
 * is derived from this node and the job, so a site's DHCP and DNS can know
 * a VM before it boots and the VMs of one job on several nodes differ; the
 * tap is named after the same digest with the prefix the guard matches. */
#ifndef HV_NET_BRIDGE_H
#define HV_NET_BRIDGE_H

#include <stddef.h>

#include "base/config.h"
#include "err.h"

#define HV_TAP_PREFIX "vj"   /* every vmjob tap: vj + 12 hex digits */
#define HV_MAC_SZ 18         /* "02:xx:xx:xx:xx:xx" */
#define HV_TAP_SZ 16         /* IFNAMSIZ */

/* At start-up: the bridge must exist; bridge_filter = auto becomes
 * clean-traffic if libvirt has that filter, else none (with a warning);
 * clean-traffic demanded but missing is an error. */
int hv_bridge_prepare(struct hv_config *cfg, struct vj_err *err);
/* The MAC (locally administered, unicast) and tap name of job's VM on the
 * node called host whose hvd instance is instance. */
void hv_bridge_ids(const char *host, const char *instance, const char *job, char mac[HV_MAC_SZ],
		   char tap[HV_TAP_SZ]);

#endif
