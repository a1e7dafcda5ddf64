#include "netguard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/spawn.h"
#include "bridge.h"
#include "cleanup.h"
#include "libvirt/qemuuser.h"

#define TABLE "vmjob"

/* PUT(...): append to out[used..outsz), or fail the ruleset as too long. */
#define PUT(...)                                                                        \
	do {                                                                            \
		int w_ = snprintf(out + used, outsz - used, __VA_ARGS__);               \
		if (w_ < 0 || (size_t)w_ >= outsz - used)                               \
			return vj_err_set(err, E2BIG, "the nftables ruleset is too long"); \
		used += (size_t)w_;                                                     \
	} while (0)

int hv_netguard_rules(const struct hv_config *cfg, const unsigned *quids, size_t n, char *out,
		      size_t outsz, struct vj_err *err)
{
	size_t used = 0;
	/* Create-or-replace in one transaction: the table exists, goes, and
	 * comes back whole; no moment without the guard. */
	PUT("table inet " TABLE " {}\ndelete table inet " TABLE "\n");
	PUT("table inet " TABLE " {\n\tchain guard {\n");
	PUT("\t\ttype filter hook output priority 0; policy accept;\n");
	for (size_t u = 0; u < n; u++) {
		for (unsigned i = 0; i < cfg->nnet_allow; i++) {
			const struct hv_net_allow *a = &cfg->net_allow[i];
			PUT("\t\tmeta skuid %u %s daddr %s %s dport %u accept\n", quids[u],
			    strchr(a->addr, ':') ? "ip6" : "ip", a->addr, a->udp ? "udp" : "tcp", a->port);
		}
		PUT("\t\tmeta skuid %u meta l4proto tcp fib daddr type local reject with tcp reset\n",
		    quids[u]);
		PUT("\t\tmeta skuid %u fib daddr type local reject\n", quids[u]);
	}
	PUT("\t}\n}\n");
	return 0;
}

int hv_netguard_bridge_rules(const struct hv_config *cfg, char *out, size_t outsz,
			     struct vj_err *err)
{
	size_t used = 0;
	PUT("table bridge " TABLE " {}\ndelete table bridge " TABLE "\n");
	PUT("table bridge " TABLE " {\n\tchain guard {\n");
	/* The input hook sees only what a port sends to this host itself. */
	PUT("\t\ttype filter hook input priority -200; policy accept;\n");
	PUT("\t\tiifname \"" HV_TAP_PREFIX "*\" ether type arp accept\n");
	for (unsigned i = 0; i < cfg->nnet_allow; i++) {
		const struct hv_net_allow *a = &cfg->net_allow[i];
		PUT("\t\tiifname \"" HV_TAP_PREFIX "*\" %s daddr %s %s dport %u accept\n",
		    strchr(a->addr, ':') ? "ip6" : "ip", a->addr, a->udp ? "udp" : "tcp", a->port);
	}
	PUT("\t\tiifname \"" HV_TAP_PREFIX "*\" drop\n");
	PUT("\t}\n}\n");
	return 0;
}
#undef PUT

/* Load ruleset with nft (kept in run_dir for an admin to read). */
static int load(const struct hv_config *cfg, const char *rules, struct vj_err *err)
{
	char path[PATH_MAX];
	hv_path(path, sizeof(path), "%s/netguard.nft", cfg->run_dir);
	{
		cleanup_fclose FILE *f = fopen(path, "we");
		if (!f || fputs(rules, f) < 0 || fflush(f) != 0)
			return vj_err_sys(err, errno, "cannot write %s", path);
	}
	char *const argv[] = {"nft", "-f", path, NULL}, *const envp[] = {"LC_ALL=C", NULL};
	return hv_run_env(argv, envp, NULL, 0, err);
}

static int install_bridge(const struct hv_config *cfg, struct vj_err *err)
{
	char rules[8192];
	if (hv_netguard_bridge_rules(cfg, rules, sizeof(rules), err) < 0 || load(cfg, rules, err) < 0)
		return vj_err_prefix(err, "network = bridge: cannot close this host to guests "
				     "(nftables)");
	hv_info("network = bridge %s: guests cannot reach this host through the bridge (nft table "
		"bridge " TABLE "), %u service(s) allowed", cfg->bridge, cfg->nnet_allow);
	return 0;
}

int hv_netguard_install(const struct hv_config *cfg, struct vj_err *err)
{
	if (cfg->network == HV_NET_BRIDGE)
		return install_bridge(cfg, err);
	if (cfg->network != HV_NET_USER)
		return 0;
	/* QEMU's user for either domain type (both, if they differ). */
	unsigned quids[2];
	size_t n = 0;
	const char *virts[] = {"kvm", "qemu"};
	for (int i = 0; i < 2; i++) {
		uid_t u;
		gid_t g;
		if (hv_qemu_user(virts[i], &u, &g, err) < 0)
			return vj_err_prefix(err, "network = user: cannot tell which user QEMU runs as");
		if (u == 0)
			return vj_err_set(err, EPERM,
					  "network = user needs QEMU to run as its own user, not root "
					  "(libvirt's qemu.conf): guests could otherwise reach this host");
		if (n == 0 || quids[0] != (unsigned)u)
			quids[n++] = (unsigned)u;
	}
	char rules[16384];
	if (hv_netguard_rules(cfg, quids, n, rules, sizeof(rules), err) < 0)
		return -1;
	if (load(cfg, rules, err) < 0)
		return vj_err_prefix(err, "network = user: cannot close this host to guests (nftables)");
	hv_info("network = user: guests cannot reach this host's addresses (nft table inet " TABLE
		", QEMU uid %u), %u service(s) allowed", quids[0], cfg->nnet_allow);
	return 0;
}

void hv_net_cmdline(const struct hv_config *cfg, char *out, size_t outsz)
{
	out[0] = '\0';
	if (cfg->network == HV_NET_USER)
		snprintf(out, outsz, " vmjob.net=%s,%s%s%s", HV_NET_USER_GUEST, HV_NET_USER_GATEWAY,
			 cfg->guest_dns[0] ? "," : "", cfg->guest_dns);
	else if (cfg->network == HV_NET_BRIDGE) /* guest_dns overrides what DHCP says */
		snprintf(out, outsz, " vmjob.net=dhcp%s%s", cfg->guest_dns[0] ? "," : "",
			 cfg->guest_dns);
}
