/* Guest networks (hvd.conf `network`). With `user`, QEMU itself carries
 * the guest's traffic (user-mode NAT): every connection a guest makes is a
 * socket of the QEMU process on this host, so without a guard a root in any
 * guest could reach whatever listens on this host's loopback or its own
 * addresses (slurmd, munged's TCP-less cousins, a database, the image
 * repository...). The guard is one nftables table, `inet vmjob`, dropping
 * (with a reset) every packet the QEMU user sends to an address of this
 * host, except hvd.conf's network_allow services. With `bridge`, a guest's
 * frames reach this host through the bridge when it has an address there;
 * the guard is `bridge vmjob`, dropping every frame a vmjob tap (vj*) sends
 * to this host itself (ARP excepted, network_allow services allowed), while
 * frames between guests and to the rest of the site pass. DESIGN
 * principle 8. */
#ifndef HV_NETGUARD_H
#define HV_NETGUARD_H

#include <stddef.h>

#include "base/config.h"
#include "err.h"

/* The guest's address plan on user-mode NAT (QEMU's defaults). */
#define HV_NET_USER_GUEST "10.0.2.15/24"
#define HV_NET_USER_GATEWAY "10.0.2.2"

/* network = user: install (or replace) the guard for QEMU's users. Refuses
 * if QEMU runs as root (the guard would close this host to hvd itself) or
 * nft cannot load it. network = bridge: install the bridge guard. none: 0. */
int hv_netguard_install(const struct hv_config *cfg, struct vj_err *err);

/* The ruleset for QEMU uids quids[0..n) (pure: unit-tested). */
int hv_netguard_rules(const struct hv_config *cfg, const unsigned *quids, size_t n, char *out,
		      size_t outsz, struct vj_err *err);

/* The bridge guard's ruleset (pure: unit-tested). */
int hv_netguard_bridge_rules(const struct hv_config *cfg, char *out, size_t outsz,
			     struct vj_err *err);

/* " vmjob.net=ADDR,GW[,DNS]" (user), " vmjob.net=dhcp[,DNS]" (bridge) for
 * the guest's command line, or "". */
void hv_net_cmdline(const struct hv_config *cfg, char *out, size_t outsz);

#endif
