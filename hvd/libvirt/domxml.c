/* The domain XML, built as a libxml2 tree: every job name, image name, path
 * and the catalogue's cmdline is escaped by the library, not by hand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpuset.h"
#include "domain.h"
#include "meta.h"
#include "xml.h"

static xmlNodePtr node(xmlNodePtr parent, const char *name)
{
	return xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

static void prop(xmlNodePtr n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

/* <name a1='v1' a2='v2' .../> from NULL-terminated name, value pairs. */
static xmlNodePtr leaf(xmlNodePtr parent, const char *name, ...)
{
	xmlNodePtr n = node(parent, name);
	va_list ap;
	va_start(ap, name);
	for (const char *a; (a = va_arg(ap, const char *));)
		prop(n, a, va_arg(ap, const char *));
	va_end(ap);
	return n;
}

/* vCPU i on the job's i-th core, QEMU's own threads on all of them, memory
 * on their NUMA nodes: the VM uses what Slurm gave the job and nothing else. */
static void cpu_placement(xmlNodePtr dom, const struct hv_domain_spec *s)
{
	const char *cores = s->d.cores;
	if (!cores[0])
		return;
	unsigned list[1024];
	size_t n = 0;
	if (s->pin_vcpus && hv_cpulist_parse(cores, list, 1024, &n) == 0 && n > 0) {
		xmlNodePtr tune = node(dom, "cputune");
		for (unsigned v = 0; v < s->d.cpus; v++) {
			xmlNodePtr pin = node(tune, "vcpupin");
			hv_xml_attr(pin, "vcpu", "%u", v);
			hv_xml_attr(pin, "cpuset", "%u", list[v % n]);
		}
		leaf(tune, "emulatorpin", "cpuset", cores, NULL);
	}
	if (s->numa_mode != HV_NUMA_OFF && s->numa_nodes && *s->numa_nodes)
		leaf(node(dom, "numatune"), "memory", "mode", HV_NUMA_WORDS[s->numa_mode], "nodeset",
		     s->numa_nodes, NULL);
}

/* A virtio disk: the overlay (qcow2 file) or the scratch volume. */
static void disk(xmlNodePtr devs, const struct hv_domain_spec *s, bool block, const char *format,
		 const char *path, const char *dev)
{
	xmlNodePtr d = leaf(devs, "disk", "type", block ? "block" : "file", "device", "disk", NULL);
	leaf(d, "driver", "name", "qemu", "type", format, "cache", HV_DISK_CACHE_WORDS[s->disk_cache],
	     "io", HV_DISK_IO_WORDS[s->disk_io], NULL);
	leaf(d, "source", block ? "dev" : "file", path, NULL);
	leaf(d, "target", "dev", dev, "bus", "virtio", NULL);
}

/* A virtio-serial port bound to a Unix socket QEMU listens on. */
static void channel(xmlNodePtr devs, const char *path, const char *name)
{
	xmlNodePtr c = leaf(devs, "channel", "type", "unix", NULL);
	leaf(c, "source", "mode", "bind", "path", path, NULL);
	leaf(c, "target", "type", "virtio", "name", name, NULL);
}

/* The gateway's sockets. vhost-user: the server listens and QEMU connects
 * (source socket=); serial: QEMU binds the channel and the server connects. */
static void fs_devices(xmlNodePtr devs, const struct hv_domain_spec *s)
{
	char name[32];
	for (unsigned i = 0; i < s->nfs; i++) {
		if (s->fs_virtiofs) {
			xmlNodePtr f = leaf(devs, "filesystem", "type", "mount", "accessmode",
					    "passthrough", NULL);
			leaf(f, "driver", "type", "virtiofs", "queue", "1024", NULL);
			leaf(f, "source", "socket", s->fs_socks[i], NULL);
			snprintf(name, sizeof(name), "vmjob.fs.%u", i);
			leaf(f, "target", "dir", name, NULL);
			continue;
		}
		snprintf(name, sizeof(name), "org.vmjob.fs.%u", i);
		channel(devs, s->fs_socks[i], name);
	}
}

static void devices(xmlNodePtr dom, const struct hv_domain_spec *s)
{
	xmlNodePtr devs = node(dom, "devices");
	disk(devs, s, false, "qcow2", s->overlay, "vda");
	disk(devs, s, s->scratch_block, "raw", s->scratch, "vdb");
	xmlNodePtr serial = leaf(devs, "serial", "type", "file", NULL);
	leaf(serial, "source", "path", s->console_log, NULL);
	leaf(serial, "target", "port", "0", NULL);
	channel(devs, s->agent_sock, "org.vmjob.agent");
	fs_devices(devs, s);
	if (s->net_user)
		leaf(leaf(devs, "interface", "type", "user", NULL), "model", "type", "virtio", NULL);
	if (s->bridge) {
		xmlNodePtr nic = leaf(devs, "interface", "type", "bridge", NULL);
		leaf(nic, "mac", "address", s->mac, NULL);
		leaf(nic, "source", "bridge", s->bridge, NULL);
		/* Our own tap name: the bridge guard (net/netguard.c) knows every
		 * vmjob tap by its prefix. */
		leaf(nic, "target", "dev", s->tap, NULL);
		leaf(nic, "model", "type", "virtio", NULL);
		if (s->net_filter)
			leaf(nic, "filterref", "filter", "clean-traffic", NULL);
	}
	leaf(devs, "memballoon", "model", "none", NULL);
}

char *hv_domain_xml(const struct hv_domain_spec *s)
{
	cleanup_xmldoc xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr dom = doc ? xmlNewNode(NULL, BAD_CAST "domain") : NULL;
	if (!dom)
		return NULL;
	xmlDocSetRootElement(doc, dom);
	prop(dom, "type", !strcmp(s->d.virt, "kvm") ? "kvm" : "qemu");
	hv_xml_add(dom, "name", s->name);
	/* The job's identity lives in libvirt itself, so a restarted hvd (and an
	 * admin with virsh) can tell whose VM this is. */
	xmlNodePtr md = node(dom, "metadata");
	hv_meta_node(md, true, &s->d);
	char num[32];
	snprintf(num, sizeof(num), "%u", s->d.mem_mb);
	prop(hv_xml_add(dom, "memory", num), "unit", "MiB");
	/* The vhost-user-fs backend (vmfs-server) reads and writes guest
	 * buffers in place: guest RAM must be a file it can map. */
	if (s->fs_virtiofs && s->nfs) {
		xmlNodePtr mb = node(dom, "memoryBacking");
		leaf(mb, "source", "type", "memfd", NULL);
		leaf(mb, "access", "mode", "shared", NULL);
	}
	snprintf(num, sizeof(num), "%u", s->d.cpus);
	xmlNodePtr vcpu = hv_xml_add(dom, "vcpu", num);
	prop(vcpu, "placement", "static");
	if (s->d.cores[0])
		prop(vcpu, "cpuset", s->d.cores);
	cpu_placement(dom, s);
	xmlNodePtr os = node(dom, "os");
	xmlNodePtr type = hv_xml_add(os, "type", "hvm");
	prop(type, "arch", "x86_64");
	prop(type, "machine", "pc");
	hv_xml_add(os, "kernel", s->kernel);
	hv_xml_add(os, "initrd", s->initrd);
	hv_xml_add(os, "cmdline", s->cmdline);
	/* Without ACPI a guest poweroff only halts and the domain stays up. */
	xmlNodePtr feat = node(dom, "features");
	node(feat, "acpi");
	/* TCG's translation cache is part of QEMU's overhead, which comes out of
	 * the job's memory (vm_memory_overhead_mb): QEMU's default lets it grow
	 * to 1 GiB; this bounds it. */
	if (strcmp(s->d.virt, "kvm")) {
		xmlNodePtr tb = hv_xml_add(node(feat, "tcg"), "tb-cache", HV_TCG_TB_CACHE_MIB);
		prop(tb, "unit", "MiB");
	} else {
		/* The host's own CPU model and features (AVX-512 and the like, which
		 * HPC codes test for): libvirt's default model would hide them. A
		 * VM never migrates, so nothing needs a common denominator. */
		leaf(dom, "cpu", "mode", "host-passthrough", "check", "none", "migratable", "off", NULL);
	}
	leaf(dom, "clock", "offset", "utc", NULL);
	/* Every way out of the guest ends the domain: VMs are never rebooted. */
	hv_xml_add(dom, "on_poweroff", "destroy");
	hv_xml_add(dom, "on_reboot", "destroy");
	hv_xml_add(dom, "on_crash", "destroy");
	devices(dom, s);
	return hv_xml_dump(doc, false);
}
