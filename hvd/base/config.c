#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ini.h"
#include "log.h"

const char *const HV_VIRT_TYPE_WORDS[] = {"auto", "kvm", "qemu", NULL};
const char *const HV_SCRATCH_BACKEND_WORDS[] = {"file", "lvm", NULL};
const char *const HV_LVM_WIPE_WORDS[] = {"zero", "none", NULL};
const char *const HV_NUMA_WORDS[] = {"off", "preferred", "strict", NULL};
const char *const HV_DISK_CACHE_WORDS[] = {"none", "writeback", "writethrough", "directsync",
					   "unsafe", NULL};
const char *const HV_DISK_IO_WORDS[] = {"threads", "native", "io_uring", NULL};
const char *const HV_FS_TRANSPORT_WORDS[] = {"virtiofs", "serial", NULL};
const char *const HV_NETWORK_WORDS[] = {"none", "user", "bridge", NULL};
const char *const HV_BRIDGE_FILTER_WORDS[] = {"auto", "clean-traffic", "none", NULL};

static int set_str(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	if (strlen(v) >= dstsz)
		return vj_err_set(err, ENAMETOOLONG, "value too long (limit %zu)", dstsz - 1);
	strcpy(dst, v);
	return 0;
}

static int set_path(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	if (v[0] != '/')
		return vj_err_set(err, EINVAL, "'%s' is not an absolute path", v);
	/* Room for vm/<job>/<file> below it, everywhere hvd builds paths. */
	if (strlen(v) > 1024)
		return vj_err_set(err, ENAMETOOLONG, "path longer than 1024 bytes");
	return set_str(dst, dstsz, v, err);
}

static int set_uint(uint64_t *dst, const char *v, uint64_t min, uint64_t max, struct vj_err *err)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		return vj_err_set(err, EINVAL, "'%s' is not a number in [%llu, %llu]", v,
				  (unsigned long long)min, (unsigned long long)max);
	*dst = n;
	return 0;
}

/* v must be one of the NULL-terminated words; *dst gets its index. */
static int set_choice(int *dst, const char *v, const char *const *words, struct vj_err *err)
{
	char list[128] = "";
	for (size_t i = 0; words[i]; i++) {
		if (!strcmp(v, words[i])) {
			*dst = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 words[i]);
	}
	return vj_err_set(err, EINVAL, "'%s' is not one of %s", v, list);
}

/* `export = PATH`: an absolute, normalised path without the characters the
 * guest's cmdline list uses (space, comma, colon), not nested in another. */
/* An IPv4 or IPv6 address, as inet_pton reads it. */
static int set_ip(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (strlen(v) >= dstsz || (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1))
		return vj_err_set(err, EINVAL, "'%s' is not an IPv4 or IPv6 address", v);
	strcpy(dst, v);
	return 0;
}

/* [tcp:|udp:]ADDR:PORT (an IPv6 ADDR in brackets). */
static int add_net_allow(struct hv_config *c, const char *v, struct vj_err *err)
{
	if (c->nnet_allow >= HV_MAX_NET_ALLOW)
		return vj_err_set(err, E2BIG, "more than %d network_allow lines", HV_MAX_NET_ALLOW);
	struct hv_net_allow *a = &c->net_allow[c->nnet_allow];
	const char *p = v;
	a->udp = !strncmp(p, "udp:", 4);
	if (a->udp || !strncmp(p, "tcp:", 4))
		p += 4;
	const char *colon = strrchr(p, ':');
	char addr[64], *end;
	if (!colon || (size_t)(colon - p) >= sizeof(addr))
		return vj_err_set(err, EINVAL, "'%s' is not [tcp:|udp:]ADDRESS:PORT", v);
	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - p), p);
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		memmove(addr, addr + 1, strlen(addr));
		addr[strlen(addr) - 1] = '\0';
	}
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port == 0 || port > 65535)
		return vj_err_set(err, EINVAL, "'%s' is not [tcp:|udp:]ADDRESS:PORT", v);
	if (set_ip(a->addr, sizeof(a->addr), addr, err) < 0)
		return -1;
	a->port = (unsigned)port;
	c->nnet_allow++;
	return 0;
}

static int add_export(struct hv_config *c, const char *path, struct vj_err *err)
{
	if (c->nexports >= HV_MAX_EXPORTS)
		return vj_err_set(err, E2BIG, "more than %d exports", HV_MAX_EXPORTS);
	size_t n = strlen(path);
	if (path[0] != '/' || n < 2 || n >= sizeof(c->exports[0]))
		return vj_err_set(err, EINVAL, "'%s' is not an absolute path below /", path);
	if (strpbrk(path, " \t,:") || path[n - 1] == '/' || strstr(path, "//") ||
	    strstr(path, "/./") || strstr(path, "/../") || !strcmp(path + n - 2, "/.") ||
	    (n >= 3 && !strcmp(path + n - 3, "/..")))
		return vj_err_set(err, EINVAL,
				  "'%s' must be a plain absolute path (no '.', '..', '//', trailing "
				  "'/', spaces, commas or colons)",
				  path);
	for (unsigned i = 0; i < c->nexports; i++) {
		size_t m = strlen(c->exports[i]);
		/* Nested exports would mount one gateway over another's tree. */
		if (!strncmp(c->exports[i], path, m < n ? m : n) &&
		    (m == n || (m < n ? path[m] : c->exports[i][n]) == '/'))
			return vj_err_set(err, EINVAL, "export '%s' overlaps export '%s'", path,
					  c->exports[i]);
	}
	/* %u and %g (the job owner's user and group name), each a whole path
	 * component; no other %. */
	for (const char *p = strchr(path, '%'); p; p = strchr(p + 1, '%'))
		if ((p[1] != 'u' && p[1] != 'g') || p[-1] != '/' || (p[2] && p[2] != '/'))
			return vj_err_set(err, EINVAL, "'%s': %%u and %%g stand for a whole path component "
					  "(/home/%%u); no other %% is allowed", path);
	memcpy(c->exports[c->nexports++], path, n + 1);
	return 0;
}

/* LVM's rules for VG and LV names: they end up in tool arguments ("VG/LV")
 * and /dev paths. */
static bool lvm_name_ok(const char *v)
{
	return v[0] && v[0] != '-' && strcmp(v, ".") && strcmp(v, "..") &&
	       strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_.-") ==
		       strlen(v);
}


static int yes_no(const char *v, bool *dst, struct vj_err *err)
{
	static const char *const words[] = {"no", "yes", NULL};
	int w;
	if (set_choice(&w, v, words, err))
		return -1;
	*dst = w == 1;
	return 0;
}

static int set_catalogue(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && strncmp(v, "file://", 7))
		return vj_err_set(err, EINVAL, "'%s' is not an http://, https:// or file:// URL", v);
	return set_str(dst, dstsz, v, err);
}

static int set_lvm_name(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	if (!lvm_name_ok(v))
		return vj_err_set(err, EINVAL, "'%s' is not an LVM name", v);
	return set_str(dst, dstsz, v, err);
}

/* A network interface name: what the kernel takes (IFNAMSIZ, no '/', no
 * space) and nothing a tool could read as an option. */
static int set_ifname(char *dst, size_t dstsz, const char *v, struct vj_err *err)
{
	if (!v[0] || strlen(v) > 15 || v[0] == '-' ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(v))
		return vj_err_set(err, EINVAL, "'%s' is not a network interface name", v);
	return set_str(dst, dstsz, v, err);
}

static int set_log_level(int *dst, const char *v, struct vj_err *err)
{
	int l = hv_log_level_parse(v);
	if (l < 0)
		return vj_err_set(err, EINVAL, "'%s' is not one of error, warning, info, debug", v);
	*dst = l;
	return 0;
}

/* Every key of hvd.conf: its type, where it goes, its bounds or words and
 * its default (parsed like a value from the file, so defaults obey the same
 * rules). etc/hvd.conf documents each. */
enum key_type { K_PATH, K_STR, K_URL, K_LVM, K_IFNAME, K_IP, K_U32, K_U64, K_BOOL, K_CHOICE, K_LOG, K_LIST };

struct key {
	const char *name;
	enum key_type type;
	size_t off, size;
	uint64_t min, max;            /* K_U32, K_U64 */
	const char *const *words;     /* K_CHOICE */
	int (*add)(struct hv_config *, const char *, struct vj_err *); /* K_LIST */
	const char *def;              /* NULL: empty / zero */
};

#define F(field) offsetof(struct hv_config, field), sizeof(((struct hv_config *)0)->field)
#define STR(n, t, field, def) {n, t, F(field), 0, 0, NULL, NULL, def}
#define NUM(n, t, field, lo, hi, def) {n, t, F(field), lo, hi, NULL, NULL, def}
#define CHOICE(n, field, words, def) {n, K_CHOICE, F(field), 0, 0, words, NULL, def}
#define LIST(n, fn) {n, K_LIST, 0, 0, 0, 0, NULL, fn, NULL}

static const struct key KEYS[] = {
	STR("socket", K_PATH, socket, VJ_DEFAULT_SOCKET),
	STR("run_dir", K_PATH, run_dir, VJ_DEFAULT_RUN_DIR),
	STR("state_dir", K_PATH, state_dir, VJ_DEFAULT_STATE_DIR),
	STR("cache_dir", K_PATH, cache_dir, VJ_DEFAULT_CACHE_DIR),
	STR("pidfile", K_PATH, pidfile, VJ_DEFAULT_PIDFILE),
	STR("catalogue", K_URL, catalogue, "http://127.0.0.1:8642/catalogue.conf"),
	STR("libvirt_uri", K_STR, libvirt_uri, "qemu:///system"),
	STR("qemu", K_STR, qemu, "qemu-system-x86_64"),
	CHOICE("virt_type", virt_type, HV_VIRT_TYPE_WORDS, "auto"),
	NUM("boot_timeout", K_U32, boot_timeout, 1, 3600, "60"),
	NUM("probe_timeout", K_U32, probe_timeout, 1, 600, "15"),
	NUM("default_scratch_mb", K_U64, default_scratch_mb, 16, 16u << 20, "1024"),
	NUM("scratch_mb_per_cpu", K_U64, scratch_mb_per_cpu, 0, 1u << 20, "0"),
	CHOICE("scratch_backend", scratch_backend, HV_SCRATCH_BACKEND_WORDS, "file"),
	STR("scratch_vg", K_LVM, scratch_vg, NULL),
	STR("scratch_thinpool", K_LVM, scratch_thinpool, NULL),
	CHOICE("scratch_lvm_wipe", scratch_lvm_wipe, HV_LVM_WIPE_WORDS, "zero"),
	NUM("cache_size_mb", K_U64, cache_size_mb, 0, 1ull << 30, "0"),
	STR("instance", K_STR, instance, NULL),
	NUM("reap_interval", K_U32, reap_interval, 0, 86400, "60"),
	NUM("max_vms", K_U32, max_vms, 0, 100000, "0"),
	NUM("host_mem_reserve_mb", K_U64, host_mem_reserve_mb, 0, 1u << 30, "1024"),
	NUM("pin_vcpus", K_BOOL, pin_vcpus, 0, 0, "yes"),
	CHOICE("numa", numa, HV_NUMA_WORDS, "preferred"),
	CHOICE("disk_cache", disk_cache, HV_DISK_CACHE_WORDS, "unsafe"),
	CHOICE("disk_io", disk_io, HV_DISK_IO_WORDS, "threads"),
	LIST("export", add_export),
	CHOICE("fs_transport", fs_transport, HV_FS_TRANSPORT_WORDS, "virtiofs"),
	CHOICE("network", network, HV_NETWORK_WORDS, "none"),
	STR("bridge", K_IFNAME, bridge, NULL),
	CHOICE("bridge_filter", bridge_filter, HV_BRIDGE_FILTER_WORDS, "auto"),
	STR("guest_dns", K_IP, guest_dns, NULL),
	LIST("network_allow", add_net_allow),
	STR("slurm_user", K_STR, slurm_user, "root"),
	NUM("account_to_job", K_BOOL, account_to_job, 0, 0, "yes"),
	STR("slurm_node", K_STR, slurm_node, NULL),
	STR("slurmd_spool_dir", K_PATH, slurmd_spool_dir, "/var/spool/slurmd"),
	NUM("vm_memory_overhead_mb", K_U64, vm_memory_overhead_mb, 0, 1u << 20, "128"),
	STR("policy", K_PATH, policy, NULL),
	NUM("log_level", K_LOG, log_level, 0, 0, "info"),
};

static int set_value(struct hv_config *c, const struct key *k, const char *v, struct vj_err *err)
{
	char *p = (char *)c + k->off;
	uint64_t n;
	switch (k->type) {
	case K_PATH:
		return set_path(p, k->size, v, err);
	case K_STR:
		return set_str(p, k->size, v, err);
	case K_URL:
		return set_catalogue(p, k->size, v, err);
	case K_LVM:
		return set_lvm_name(p, k->size, v, err);
	case K_IFNAME:
		return set_ifname(p, k->size, v, err);
	case K_IP:
		return set_ip(p, k->size, v, err);
	case K_U32:
		if (set_uint(&n, v, k->min, k->max, err))
			return -1;
		*(unsigned *)p = (unsigned)n;
		return 0;
	case K_U64:
		return set_uint((uint64_t *)p, v, k->min, k->max, err);
	case K_BOOL:
		return yes_no(v, (bool *)p, err);
	case K_CHOICE:
		return set_choice((int *)p, v, k->words, err);
	case K_LOG:
		return set_log_level((int *)p, v, err);
	case K_LIST:
		return k->add(c, v, err);
	}
	return vj_err_set(err, EINVAL, "bad key table");
}

void hv_config_defaults(struct hv_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
		struct vj_err err;
		if (KEYS[i].def && set_value(c, &KEYS[i], KEYS[i].def, &err))
			abort(); /* a default that fails its own rule: a bug here */
	}
}

const char *hv_config_key(size_t i)
{
	return i < sizeof(KEYS) / sizeof(KEYS[0]) ? KEYS[i].name : NULL;
}

static int on_key(void *u, const char *section, const char *k, const char *v, struct vj_err *err)
{
	(void)section; /* hvd.conf has no sections (on_section is NULL) */
	for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++)
		if (!strcmp(k, KEYS[i].name))
			return set_value(u, &KEYS[i], v, err) ? vj_err_prefix(err, "%s", k) : 0;
	return vj_err_set(err, EINVAL, "unknown key '%s'", k);
}

/* Rules between keys, once the file is read. */
static int check(const struct hv_config *c, const char *path, struct vj_err *err)
{
	/* QEMU refuses io=native unless the host page cache is bypassed. */
	if (c->disk_io == HV_IO_NATIVE && c->disk_cache != HV_CACHE_NONE &&
	    c->disk_cache != HV_CACHE_DIRECTSYNC)
		return vj_err_set(err, EINVAL, "%s: disk_io = native needs disk_cache = none or directsync",
				  path);
	/* run_dir/vm/<64-char job>/agent.sock must fit a Unix socket address. */
	if (strlen(c->run_dir) + strlen("/vm/") + 64 + strlen("/agent.sock") >= 108)
		return vj_err_set(err, ENAMETOOLONG,
				  "%s: run_dir '%s' is too long for the VMs' agent sockets (limit %zu bytes)",
				  path, c->run_dir, 107 - strlen("/vm/") - 64 - strlen("/agent.sock"));
	if (c->scratch_backend == HV_SCRATCH_LVM && !c->scratch_vg[0])
		return vj_err_set(err, EINVAL, "%s: scratch_backend = lvm needs scratch_vg", path);
	if (c->network == HV_NET_BRIDGE && !c->bridge[0])
		return vj_err_set(err, EINVAL, "%s: network = bridge needs bridge (the site bridge's name)",
				  path);
	if (c->scratch_thinpool[0] && c->scratch_backend != HV_SCRATCH_LVM)
		return vj_err_set(err, EINVAL, "%s: scratch_thinpool needs scratch_backend = lvm", path);
	return 0;
}

int hv_config_load(struct hv_config *c, const char *path, bool must_exist, struct vj_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (hv_ini_read_file(path, 1u << 20, &text, &len, err)) {
		if (err->code != ENOENT || must_exist)
			return -1;
		vj_err_clear(err);
	} else {
		const struct hv_ini ini = {.hash_comments = true, .on_key = on_key, .u = c};
		unsigned line;
		if (hv_ini_parse(text, len, &ini, &line, err))
			return vj_err_prefix(err, "%s:%u", path, line);
	}
	if (!c->instance[0])
		snprintf(c->instance, sizeof(c->instance), "%s", c->state_dir);
	if (!c->slurm_node[0] && gethostname(c->slurm_node, sizeof(c->slurm_node) - 1) == 0)
		c->slurm_node[strcspn(c->slurm_node, ".")] = '\0'; /* slurmd's default NodeName */
	return check(c, path, err);
}
