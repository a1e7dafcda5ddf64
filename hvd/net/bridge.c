#include "bridge.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/spawn.h"
#include "base/sha256.h"
#include "libvirt/domain.h"

/* libvirt's clean-traffic filter is ebtables rules in the bridge's nat
 * table; where ebtables cannot make them (ebtables-legacy on a kernel
 * without ebtable_nat), libvirt only logs the failure and the guest runs
 * unfiltered. So ask ebtables as libvirt will. */
static bool ebtables_usable(char *why, size_t whysz)
{
	static const char *const tools[] = {"/usr/sbin/ebtables", "/sbin/ebtables"};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (access(tools[i], X_OK) < 0)
			continue;
		char *argv[] = {(char *)tools[i], "--concurrent", "-t", "nat", "-L", NULL};
		char out[512] = "";
		int st = -1;
		if (hv_run_capture(argv, out, sizeof(out), 10000, NULL, &st, NULL) >= 0 && st == 0)
			return true;
		out[strcspn(out, "\n")] = '\0';
		snprintf(why, whysz, "%s cannot make the bridge nat rules libvirt's filter needs ('%s'; "
			 "install iptables for ebtables-nft)", tools[i], out);
		return false;
	}
	snprintf(why, whysz, "ebtables is not installed (the filter's rules need it)");
	return false;
}

int hv_bridge_prepare(struct hv_config *cfg, struct vj_err *err)
{
	if (cfg->network != HV_NET_BRIDGE)
		return 0;
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", cfg->bridge);
	if (stat(path, &st) < 0)
		return vj_err_set(err, ENODEV, "network = bridge: %s is not a bridge on this host "
				  "(hvd.conf bridge names the site bridge the guests' taps join)",
				  cfg->bridge);
	if (cfg->bridge_filter == HV_BRFILTER_NONE)
		return 0;
	virConnectPtr c = hv_libvirt_get(err);
	if (!c)
		return -1;
	virNWFilterPtr f = virNWFilterLookupByName(c, "clean-traffic");
	virConnectClose(c);
	char why[300] = "libvirt has no nwfilter 'clean-traffic' (install libvirt-daemon-config-nwfilter)";
	if (f) {
		virNWFilterFree(f);
		if (ebtables_usable(why, sizeof(why))) {
			cfg->bridge_filter = HV_BRFILTER_CLEAN;
			hv_info("network = bridge %s: guests' MAC and IP are held by libvirt's "
				"clean-traffic filter", cfg->bridge);
			return 0;
		}
	}
	if (cfg->bridge_filter == HV_BRFILTER_CLEAN)
		return vj_err_set(err, ENOENT, "network = bridge: bridge_filter = clean-traffic cannot "
				  "work: %s (or set bridge_filter = auto or none)", why);
	cfg->bridge_filter = HV_BRFILTER_NONE;
	hv_warn("network = bridge %s: %s; guests are not kept from forging MAC or IP addresses on "
		"the bridge", cfg->bridge, why);
	return 0;
}

void hv_bridge_ids(const char *host, const char *instance, const char *job, char mac[HV_MAC_SZ],
		   char tap[HV_TAP_SZ])
{
	char hex[VJ_SHA256_SZ] = "";
	struct hv_sha256 *h = hv_sha256_new();
	if (h) {
		hv_sha256_update(h, host, strlen(host) + 1);
		hv_sha256_update(h, instance, strlen(instance) + 1);
		hv_sha256_update(h, job, strlen(job));
		hv_sha256_final(h, hex);
	} else {
		snprintf(hex, sizeof(hex), "%064d", 0);
	}
	/* 02: locally administered, unicast; then 40 bits of the digest. */
	snprintf(mac, HV_MAC_SZ, "02:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4, hex + 6,
		 hex + 8);
	snprintf(tap, HV_TAP_SZ, HV_TAP_PREFIX "%.12s", hex);
}
