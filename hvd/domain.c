#include "domain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* <tag>escaped text</tag> */
static void el(FILE *f, const char *indent, const char *tag, const char *text)
{
	fprintf(f, "%s<%s>", indent, tag);
	esc(f, text);
	fprintf(f, "</%s>\n", tag);
}

/* <tag attr='escaped'/> style helpers keep the XML below readable. */
static void path_attr(FILE *f, const char *pre, const char *path, const char *post)
{
	fputs(pre, f);
	esc(f, path);
	fputs(post, f);
}

char *hv_domain_xml(const struct hv_domain_spec *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	char created[32], num[32];
	struct tm tm;
	gmtime_r(&s->created, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

	fprintf(f, "<domain type='%s'>\n", !strcmp(s->virt, "kvm") ? "kvm" : "qemu");
	el(f, "  ", "name", s->name);
	/* The job's identity lives in libvirt itself, so a restarted hvd (and an
	 * admin with virsh) can tell whose VM this is. */
	fputs("  <metadata>\n", f);
	fprintf(f, "    <vmjob:vm xmlns:vmjob='%s'>\n", HV_METADATA_NS);
	el(f, "      ", "vmjob:job", s->job);
	snprintf(num, sizeof(num), "%u", (unsigned)s->uid);
	el(f, "      ", "vmjob:uid", num);
	snprintf(num, sizeof(num), "%u", (unsigned)s->gid);
	el(f, "      ", "vmjob:gid", num);
	el(f, "      ", "vmjob:image", s->image);
	el(f, "      ", "vmjob:created", created);
	fputs("    </vmjob:vm>\n  </metadata>\n", f);
	fprintf(f, "  <memory unit='MiB'>%u</memory>\n", s->mem_mb);
	if (s->cpuset && *s->cpuset)
		path_attr(f, "  <vcpu placement='static' cpuset='", s->cpuset, "'>");
	else
		fputs("  <vcpu placement='static'>", f);
	fprintf(f, "%u</vcpu>\n", s->cpus);
	fputs("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n", f);
	el(f, "    ", "kernel", s->kernel);
	el(f, "    ", "initrd", s->initrd);
	el(f, "    ", "cmdline", s->cmdline);
	fputs("  </os>\n", f);
	/* Without ACPI a guest poweroff only halts and the domain stays up. */
	fputs("  <features><acpi/></features>\n", f);
	fputs("  <clock offset='utc'/>\n", f);
	/* Every way out of the guest ends the domain: VMs are never rebooted. */
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n",
	      f);
	fputs("  <devices>\n", f);
	fputs("    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n", f);
	path_attr(f, "      <source file='", s->overlay, "'/>\n");
	fputs("      <target dev='vda' bus='virtio'/>\n    </disk>\n", f);
	fprintf(f, "    <disk type='%s' device='disk'>\n      <driver name='qemu' type='raw'/>\n", s->scratch_block ? "block" : "file");
	path_attr(f, s->scratch_block ? "      <source dev='" : "      <source file='", s->scratch,
		  "'/>\n");
	fputs("      <target dev='vdb' bus='virtio'/>\n    </disk>\n", f);
	fputs("    <serial type='file'>\n", f);
	path_attr(f, "      <source path='", s->console_log, "'/>\n");
	fputs("      <target port='0'/>\n    </serial>\n", f);
	fputs("    <channel type='unix'>\n", f);
	path_attr(f, "      <source mode='bind' path='", s->agent_sock, "'/>\n");
	fputs("      <target type='virtio' name='org.vmjob.agent'/>\n    </channel>\n", f);
	fputs("    <memballoon model='none'/>\n", f);
	fputs("  </devices>\n</domain>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static virConnectPtr conn;
static char conn_uri[256];

/* libvirt prints every error to stderr by default; hvd reports its own. */
static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static const char *lv_msg(void)
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
	int rc = conn ? 0 : vj_err_set(err, EIO, "cannot connect to libvirt at %s: %s", conn_uri, lv_msg());
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
		vj_err_set(err, EIO, "cannot connect to libvirt at %s: %s", conn_uri, lv_msg());
	pthread_mutex_unlock(&conn_lock);
	return c;
}

int hv_domain_start(const char *xml, const char *name, struct vj_err *err)
{
	virConnectPtr c = get_conn(err);
	if (!c)
		return -1;
	virDomainPtr d = virDomainCreateXML(c, xml, 0);
	int rc = 0;
	if (!d)
		rc = vj_err_set(err, EIO, "libvirt cannot start domain %s: %s", name, lv_msg());
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
			rc = vj_err_set(err, EIO, "libvirt cannot destroy domain %s: %s", name, lv_msg());
		else
			rc = 1;
		/* A persistent definition (someone ran virsh define) would survive. */
		if (rc == 1 && virDomainIsPersistent(d) == 1)
			virDomainUndefine(d);
		virDomainFree(d);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		rc = vj_err_set(err, EIO, "libvirt cannot look up domain %s: %s", name, lv_msg());
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
