#include "domain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

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
	const char *m = virGetLastErrorMessage();
	return m ? m : "unknown libvirt error";
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

int hv_domain_start(const char *xml, const char *name, struct vj_err *err)
{
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	virDomainPtr d = virDomainCreateXML(c, xml, 0);
	int rc = 0;
	if (!d)
		rc = vj_err_set(err, EIO, "libvirt cannot start domain %s: %s", name, hv_libvirt_errmsg());
	else
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
