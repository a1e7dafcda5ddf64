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

static void num_el(FILE *f, const char *indent, const char *tag, unsigned long long n)
{
	char num[32];
	snprintf(num, sizeof(num), "%llu", n);
	el(f, indent, tag, num);
}

/* Everything hvd needs to rebuild its table entry after a restart. */
static void meta_fields(FILE *f, const struct hv_domain_spec *s, const char *pfx)
{
	char created[32], tag[48];
	struct tm tm;
	gmtime_r(&s->created, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
#define FIELD(name, text) (snprintf(tag, sizeof(tag), "%s" name, pfx), el(f, "      ", tag, text))
#define NFIELD(name, n) (snprintf(tag, sizeof(tag), "%s" name, pfx), num_el(f, "      ", tag, n))
	FIELD("job", s->job);
	NFIELD("uid", (unsigned)s->uid);
	NFIELD("gid", (unsigned)s->gid);
	FIELD("image", s->image);
	FIELD("created", created);
	if (s->instance)
		FIELD("instance", s->instance);
	FIELD("virt", s->virt);
	NFIELD("cpus", s->cpus);
	NFIELD("mem_mb", s->mem_mb);
	if (s->cpuset && *s->cpuset)
		FIELD("cores", s->cpuset);
	if (s->scratch_mb)
		NFIELD("scratch_mb", s->scratch_mb);
	const long t[] = {s->t_image, s->t_scratch, s->t_domain, s->t_agent};
	const char *tn[] = {"t_image", "t_scratch", "t_domain", "t_agent"};
	for (int i = 0; i < 4; i++)
		if (t[i] >= 0) {
			snprintf(tag, sizeof(tag), "%s%s", pfx, tn[i]);
			num_el(f, "      ", tag, (unsigned long long)t[i]);
		}
#undef FIELD
#undef NFIELD
}

char *hv_domain_meta_xml(const struct hv_domain_spec *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("<vm>\n", f);
	meta_fields(f, s, "");
	fputs("</vm>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* vCPU i on the job's i-th core, QEMU's own threads on all of them, memory
 * on their NUMA nodes: the VM uses what Slurm gave the job and nothing else. */
static void cpu_placement(FILE *f, const struct hv_domain_spec *s)
{
	if (!s->cpuset || !*s->cpuset)
		return;
	unsigned cores[1024];
	size_t n = 0;
	if (s->pin_vcpus && hv_cpulist_parse(s->cpuset, cores, 1024, &n) == 0 && n > 0) {
		fputs("  <cputune>\n", f);
		for (unsigned v = 0; v < s->cpus; v++)
			fprintf(f, "    <vcpupin vcpu='%u' cpuset='%u'/>\n", v, cores[v % n]);
		path_attr(f, "    <emulatorpin cpuset='", s->cpuset, "'/>\n");
		fputs("  </cputune>\n", f);
	}
	if (s->numa_mode != HV_NUMA_OFF && s->numa_nodes && *s->numa_nodes) {
		fprintf(f, "  <numatune>\n    <memory mode='%s' nodeset='", HV_NUMA_WORDS[s->numa_mode]);
		esc(f, s->numa_nodes);
		fputs("'/>\n  </numatune>\n", f);
	}
}

static void disk_driver(FILE *f, const struct hv_domain_spec *s, const char *type)
{
	fprintf(f, "      <driver name='qemu' type='%s'", type);
	fprintf(f, " cache='%s' io='%s'", HV_DISK_CACHE_WORDS[s->disk_cache],
		HV_DISK_IO_WORDS[s->disk_io]);
	fputs("/>\n", f);
}

/* The gateway's sockets. vhost-user: the server listens and QEMU connects
 * (source socket=); serial: QEMU binds the channel and the server connects. */
static void fs_devices(FILE *f, const struct hv_domain_spec *s)
{
	for (unsigned i = 0; i < s->nfs; i++) {
		if (s->fs_virtiofs) {
			fputs("    <filesystem type='mount' accessmode='passthrough'>\n"
			      "      <driver type='virtiofs' queue='1024'/>\n", f);
			path_attr(f, "      <source socket='", s->fs_socks[i], "'/>\n");
			fprintf(f, "      <target dir='vmjob.fs.%u'/>\n    </filesystem>\n", i);
			continue;
		}
		fputs("    <channel type='unix'>\n", f);
		path_attr(f, "      <source mode='bind' path='", s->fs_socks[i], "'/>\n");
		fprintf(f, "      <target type='virtio' name='org.vmjob.fs.%u'/>\n    </channel>\n", i);
	}
}

char *hv_domain_xml(const struct hv_domain_spec *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "<domain type='%s'>\n", !strcmp(s->virt, "kvm") ? "kvm" : "qemu");
	el(f, "  ", "name", s->name);
	/* The job's identity lives in libvirt itself, so a restarted hvd (and an
	 * admin with virsh) can tell whose VM this is. */
	fputs("  <metadata>\n", f);
	fprintf(f, "    <vmjob:vm xmlns:vmjob='%s'>\n", HV_METADATA_NS);
	meta_fields(f, s, "vmjob:");
	fputs("    </vmjob:vm>\n  </metadata>\n", f);
	fprintf(f, "  <memory unit='MiB'>%u</memory>\n", s->mem_mb);
	/* The vhost-user-fs backend (vmfs-server) reads and writes guest
	 * buffers in place: guest RAM must be a file it can map. */
	if (s->fs_virtiofs && s->nfs)
		fputs("  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\n",
		      f);
	if (s->cpuset && *s->cpuset)
		path_attr(f, "  <vcpu placement='static' cpuset='", s->cpuset, "'>");
	else
		fputs("  <vcpu placement='static'>", f);
	fprintf(f, "%u</vcpu>\n", s->cpus);
	cpu_placement(f, s);
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
	fputs("    <disk type='file' device='disk'>\n", f);
	disk_driver(f, s, "qcow2");
	path_attr(f, "      <source file='", s->overlay, "'/>\n");
	fputs("      <target dev='vda' bus='virtio'/>\n    </disk>\n", f);
	fprintf(f, "    <disk type='%s' device='disk'>\n", s->scratch_block ? "block" : "file");
	disk_driver(f, s, "raw");
	path_attr(f, s->scratch_block ? "      <source dev='" : "      <source file='", s->scratch,
		  "'/>\n");
	fputs("      <target dev='vdb' bus='virtio'/>\n    </disk>\n", f);
	fputs("    <serial type='file'>\n", f);
	path_attr(f, "      <source path='", s->console_log, "'/>\n");
	fputs("      <target port='0'/>\n    </serial>\n", f);
	fputs("    <channel type='unix'>\n", f);
	path_attr(f, "      <source mode='bind' path='", s->agent_sock, "'/>\n");
	fputs("      <target type='virtio' name='org.vmjob.agent'/>\n    </channel>\n", f);
	fs_devices(f, s);
	if (s->net_user)
		fputs("    <interface type='user'>\n      <model type='virtio'/>\n    </interface>\n", f);
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
