#include "domquery.h"

#include <stdio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base/config.h"
#include "meta.h"

int hv_domain_set_meta(const char *name, const struct hv_vmdesc *vd, struct vj_err *err)
{
	char *xml = hv_meta_xml(vd);
	if (!xml)
		return vj_err_set(err, ENOMEM, "out of memory");
	virConnectPtr c = hv_libvirt_get(err);
	if (!c) {
		free(xml);
		return -1;
	}
	int rc = 0;
	virDomainPtr d = virDomainLookupByName(c, name);
	if (!d)
		rc = vj_err_set(err, EIO, "libvirt cannot find domain %s: %s", name, hv_libvirt_errmsg());
	else if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, "vmjob", HV_METADATA_NS,
				      VIR_DOMAIN_AFFECT_LIVE) < 0)
		rc = vj_err_set(err, EIO, "libvirt cannot update the metadata of %s: %s", name,
				hv_libvirt_errmsg());
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	free(xml);
	return rc;
}

int hv_domain_foreach(void (*fn)(const char *name, const char *meta, void *ud), void *ud,
		      struct vj_err *err)
{
	virConnectPtr c = hv_libvirt_get(err);
	if (!c)
		return -1;
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		vj_err_set(err, EIO, "libvirt cannot list domains: %s", hv_libvirt_errmsg());
		virConnectClose(c);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && !strncmp(name, HV_DOMAIN_PREFIX, strlen(HV_DOMAIN_PREFIX))) {
			char *meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT,
							  HV_METADATA_NS, VIR_DOMAIN_AFFECT_LIVE);
			fn(name, meta, ud);
			free(meta);
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(c);
	return 0;
}

int hv_domain_counters(const char *name, uint64_t *cpu_ns, uint64_t *mem_kib)
{
	struct vj_err err;
	virConnectPtr c = hv_libvirt_get(&err);
	if (!c)
		return -1;
	int rc = -1;
	virDomainPtr d = virDomainLookupByName(c, name);
	virDomainInfo info;
	if (d && virDomainGetInfo(d, &info) == 0) {
		*cpu_ns = info.cpuTime;
		*mem_kib = info.memory;
		rc = 0;
	}
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int hv_domain_ours(const char *name, const char *instance, char *owner, size_t sz)
{
	struct vj_err err;
	snprintf(owner, sz, "?");
	virConnectPtr c = hv_libvirt_get(&err);
	if (!c)
		return -1;
	int rc = 1;
	virDomainPtr d = virDomainLookupByName(c, name);
	if (d) {
		char *xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, HV_METADATA_NS,
						 VIR_DOMAIN_AFFECT_LIVE);
		struct hv_vmdesc m;
		if (!xml || hv_meta_parse(xml, strlen(xml), &m, &err)) {
			snprintf(owner, sz, "nobody known (no valid vmjob metadata)");
			rc = 0;
		} else if (!hv_meta_owned(&m, instance, HV_LEGACY_INSTANCE)) {
			snprintf(owner, sz, "%s", m.instance[0] ? m.instance : HV_LEGACY_INSTANCE);
			rc = 0;
		}
		free(xml);
		virDomainFree(d);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		rc = -1;
	}
	virConnectClose(c);
	return rc;
}
