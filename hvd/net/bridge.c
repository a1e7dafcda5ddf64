#include "bridge.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/sha256.h"
#include "libvirt/domain.h"

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
	if (f) {
		virNWFilterFree(f);
		cfg->bridge_filter = HV_BRFILTER_CLEAN;
		hv_info("network = bridge %s: guests' MAC and IP are held by libvirt's clean-traffic "
			"filter", cfg->bridge);
		return 0;
	}
	if (cfg->bridge_filter == HV_BRFILTER_CLEAN)
		return vj_err_set(err, ENOENT, "network = bridge: libvirt has no nwfilter "
				  "'clean-traffic' (install libvirt-daemon-config-nwfilter, or set "
				  "bridge_filter = auto or none)");
	cfg->bridge_filter = HV_BRFILTER_NONE;
	hv_warn("network = bridge %s: libvirt has no nwfilter 'clean-traffic'; guests are not "
		"kept from forging MAC or IP addresses on the bridge", cfg->bridge);
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
