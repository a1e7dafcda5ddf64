#include "domain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base/cpuset.h"
#include "base/log.h"

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static virConnectPtr conn;
static char conn_uri[256];

/* libvirt prints every error to stderr by default; hvd reports its own. */
static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

const char *hv_libvirt_errmsg(void)
{
	/* One line: libvirt passes on QEMU's stderr, several lines of it. */
	static __thread char line[1024];
	const char *m = virGetLastErrorMessage();
	if (!m)
		return "unknown libvirt error";
	size_t n = 0;
	for (const char *p = m; *p && n + 3 < sizeof(line); p++) {
		if (*p == '\n') {
			if (p[1])
				line[n++] = ';', line[n++] = ' ';
		} else {
			line[n++] = *p == '\r' || *p == '\t' ? ' ' : *p;
		}
	}
	line[n] = '\0';
	return line;
}

int hv_libvirt_open(const char *uri, struct vj_err *err)
{
	pthread_mutex_lock(&conn_lock);
	virSetErrorFunc(NULL, quiet);
	snprintf(conn_uri, sizeof(conn_uri), "%s", uri);
	if (!conn)
		conn = virConnectOpen(conn_uri);
	int rc = conn ? 0 : vj_err_set(err, EIO, "cannot connect to libvirt at %s: %s", conn_uri, hv_libvirt_errmsg());
	pthread_mutex_unlock(&conn_lock);
	return rc;
}

/* The connection to use now, reconnecting if libvirtd was restarted. */
static virConnectPtr get_conn(struct vj_err *err)
{
	pthread_mutex_lock(&conn_lock);
	if (conn && virConnectIsAlive(conn) != 1) {
		hv_warn("libvirt connection lost; reconnecting to %s", conn_uri);
		virConnectClose(conn);
		conn = NULL;
	}
	if (!conn)
		conn = virConnectOpen(conn_uri);
	virConnectPtr c = conn;
	if (c)
		virConnectRef(c);
	else
		vj_err_set(err, EIO, "cannot connect to libvirt at %s: %s", conn_uri, hv_libvirt_errmsg());
	pthread_mutex_unlock(&conn_lock);
	return c;
}

struct _virConnect *hv_libvirt_get(struct vj_err *err)
{
	return get_conn(err);
}

int hv_domain_start(const char *xml, const char *name, bool paused, struct vj_err *err)
{
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	virDomainPtr d = virDomainCreateXML(c, xml, paused ? VIR_DOMAIN_START_PAUSED : 0);
	int rc = 0;
	if (!d)
		rc = vj_err_set(err, EIO, "libvirt cannot start domain %s: %s", name, hv_libvirt_errmsg());
	else
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

/* The running domain name, or NULL with err. */
static virDomainPtr lookup(virConnectPtr c, const char *name, struct vj_err *err)
{
	virDomainPtr d = virDomainLookupByName(c, name);
	if (!d)
		vj_err_set(err, ESRCH, "libvirt has no domain %s: %s", name, hv_libvirt_errmsg());
	return d;
}

int hv_domain_resume(const char *name, struct vj_err *err)
{
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	virDomainPtr d = lookup(c, name, err);
	int rc = d ? 0 : -1;
	if (d && virDomainResume(d) < 0)
		rc = vj_err_set(err, EIO, "libvirt cannot resume domain %s: %s", name, hv_libvirt_errmsg());
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

pid_t hv_domain_qemu_pid(const char *name, struct vj_err *err)
{
	char path[512], want[300], cmd[8192];
	snprintf(path, sizeof(path), HV_LIBVIRT_QEMU_RUN "/%s.pid", name);
	FILE *f = fopen(path, "re");
	long pid = 0;
	if (!f)
		return vj_err_sys(err, errno, "cannot read QEMU's pid for %s from %s", name, path);
	int n = fscanf(f, "%ld", &pid);
	fclose(f);
	if (n != 1 || pid <= 1)
		return vj_err_set(err, EINVAL, "%s holds no pid", path);
	/* The pid is that domain's QEMU (its -name guest=NAME,...), not a reused one. */
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	size_t len = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
	if (f)
		fclose(f);
	cmd[len] = '\0';
	snprintf(want, sizeof(want), "guest=%s,", name);
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (!strncmp(cmd + i, want, strlen(want)))
			return (pid_t)pid;
	return vj_err_set(err, ESRCH, "process %ld is not the QEMU of domain %s", pid, name);
}

int hv_domain_repin(const char *name, const char *cores, unsigned vcpus, struct vj_err *err)
{
	unsigned list[1024];
	size_t n = 0;
	if (hv_cpulist_parse(cores, list, 1024, &n) || n == 0)
		return vj_err_set(err, EINVAL, "'%s' is not a list of cores", cores);
	unsigned maxcpu = 0;
	for (size_t i = 0; i < n; i++)
		maxcpu = list[i] > maxcpu ? list[i] : maxcpu;
	size_t maplen = VIR_CPU_MAPLEN(maxcpu + 1);
	unsigned char map[VIR_CPU_MAPLEN(1024)];
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	virDomainPtr d = lookup(c, name, err);
	int rc = d ? 0 : -1;
	/* The same placement as the domain XML's cputune (domxml.c). */
	for (unsigned v = 0; d && rc == 0 && v < vcpus; v++) {
		memset(map, 0, sizeof(map));
		VIR_USE_CPU(map, list[v % n]);
		if (virDomainPinVcpuFlags(d, v, map, (int)maplen, VIR_DOMAIN_AFFECT_LIVE) < 0)
			rc = vj_err_set(err, EIO, "libvirt cannot pin vCPU %u of %s: %s", v, name,
					hv_libvirt_errmsg());
	}
	if (d && rc == 0) {
		memset(map, 0, sizeof(map));
		for (size_t i = 0; i < n; i++)
			VIR_USE_CPU(map, list[i]);
		if (virDomainPinEmulator(d, map, (int)maplen, VIR_DOMAIN_AFFECT_LIVE) < 0)
			rc = vj_err_set(err, EIO, "libvirt cannot pin QEMU's threads of %s: %s", name,
					hv_libvirt_errmsg());
	}
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int hv_domain_destroy(const char *name, struct vj_err *err)
{
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	int rc = 0;
	virDomainPtr d = virDomainLookupByName(c, name);
	if (d) {
		if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0 &&
		    virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID)
			rc = vj_err_set(err, EIO, "libvirt cannot destroy domain %s: %s", name, hv_libvirt_errmsg());
		else
			rc = 1;
		/* A persistent definition (someone ran virsh define) would survive. */
		if (rc == 1 && virDomainIsPersistent(d) == 1)
			virDomainUndefine(d);
		virDomainFree(d);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		rc = vj_err_set(err, EIO, "libvirt cannot look up domain %s: %s", name, hv_libvirt_errmsg());
	}
	virConnectClose(c);
	return rc;
}

int hv_domain_paused(const char *name)
{
	struct vj_err err;
	virConnectPtr c = get_conn(&err);
	if (!c)
		return -1;
	int rc = -1, state, reason;
	virDomainPtr d = virDomainLookupByName(c, name);
	if (d && virDomainGetState(d, &state, &reason, 0) == 0)
		rc = state == VIR_DOMAIN_PAUSED;
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int hv_domain_running(const char *name)
{
	struct vj_err err;
	virConnectPtr c = get_conn(&err);
	if (!c)
		return -1;
	int rc = 0;
	virDomainPtr d = virDomainLookupByName(c, name);
	if (d) {
		rc = virDomainIsActive(d);
		virDomainFree(d);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		rc = -1;
	}
	virConnectClose(c);
	return rc;
}
