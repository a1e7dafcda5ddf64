#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *const HV_VIRT_TYPE_WORDS[] = {"auto", "kvm", "qemu", NULL};
const char *const HV_SCRATCH_BACKEND_WORDS[] = {"file", "lvm", NULL};
const char *const HV_LVM_WIPE_WORDS[] = {"zero", "none", NULL};
const char *const HV_NUMA_WORDS[] = {"off", "preferred", "strict", NULL};
const char *const HV_DISK_CACHE_WORDS[] = {"none", "writeback", "writethrough", "directsync",
					   "unsafe", NULL};
const char *const HV_DISK_IO_WORDS[] = {"threads", "native", "io_uring", NULL};
const char *const HV_FS_TRANSPORT_WORDS[] = {"virtiofs", "serial", NULL};
const char *const HV_NETWORK_WORDS[] = {"none", "user", NULL};

void hv_config_defaults(struct hv_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", VJ_DEFAULT_SOCKET);
	snprintf(c->run_dir, sizeof(c->run_dir), "%s", VJ_DEFAULT_RUN_DIR);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", VJ_DEFAULT_STATE_DIR);
	snprintf(c->cache_dir, sizeof(c->cache_dir), "%s", VJ_DEFAULT_CACHE_DIR);
	snprintf(c->pidfile, sizeof(c->pidfile), "%s", VJ_DEFAULT_PIDFILE);
	snprintf(c->catalogue, sizeof(c->catalogue), "%s", "http://127.0.0.1:8642/catalogue.conf");
	snprintf(c->libvirt_uri, sizeof(c->libvirt_uri), "%s", "qemu:///system");
	c->virt_type = HV_VIRT_AUTO;
	snprintf(c->qemu, sizeof(c->qemu), "%s", "qemu-system-x86_64");
	c->boot_timeout = 60;
	c->probe_timeout = 15;
	c->default_scratch_mb = 1024;
	c->scratch_backend = HV_SCRATCH_FILE;
	c->scratch_lvm_wipe = HV_LVM_WIPE_ZERO;
	c->log_level = LOG_INFO;
	snprintf(c->slurm_user, sizeof(c->slurm_user), "%s", "root");
	c->reap_interval = 60;
	c->max_vms = 0;
	c->host_mem_reserve_mb = 1024;
	c->pin_vcpus = true;
	c->numa = HV_NUMA_PREFERRED;
	c->disk_cache = HV_CACHE_UNSAFE;
	c->disk_io = HV_IO_THREADS;
	c->fs_transport = HV_FS_VIRTIOFS;
	c->network = HV_NET_NONE;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

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

static int set_key(struct hv_config *c, const char *k, const char *v, struct vj_err *err)
{
	uint64_t n;
	if (strcmp(k, "socket") == 0)
		return set_path(c->socket, sizeof(c->socket), v, err);
	if (strcmp(k, "run_dir") == 0)
		return set_path(c->run_dir, sizeof(c->run_dir), v, err);
	if (strcmp(k, "state_dir") == 0)
		return set_path(c->state_dir, sizeof(c->state_dir), v, err);
	if (strcmp(k, "cache_dir") == 0)
		return set_path(c->cache_dir, sizeof(c->cache_dir), v, err);
	if (strcmp(k, "pidfile") == 0)
		return set_path(c->pidfile, sizeof(c->pidfile), v, err);
	if (strcmp(k, "catalogue") == 0) {
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && strncmp(v, "file://", 7))
			return vj_err_set(err, EINVAL, "'%s' is not an http://, https:// or file:// URL", v);
		return set_str(c->catalogue, sizeof(c->catalogue), v, err);
	}
	if (strcmp(k, "libvirt_uri") == 0)
		return set_str(c->libvirt_uri, sizeof(c->libvirt_uri), v, err);
	if (strcmp(k, "qemu") == 0)
		return set_str(c->qemu, sizeof(c->qemu), v, err);
	if (strcmp(k, "virt_type") == 0)
		return set_choice((int *)&c->virt_type, v, HV_VIRT_TYPE_WORDS, err);
	if (strcmp(k, "boot_timeout") == 0) {
		if (set_uint(&n, v, 1, 3600, err))
			return -1;
		c->boot_timeout = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "probe_timeout") == 0) {
		if (set_uint(&n, v, 1, 600, err))
			return -1;
		c->probe_timeout = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "scratch_mb_per_cpu") == 0)
		return set_uint(&c->scratch_mb_per_cpu, v, 0, 1u << 20, err);
	if (strcmp(k, "scratch_backend") == 0)
		return set_choice((int *)&c->scratch_backend, v, HV_SCRATCH_BACKEND_WORDS, err);
	if (strcmp(k, "scratch_vg") == 0) {
		if (!lvm_name_ok(v))
			return vj_err_set(err, EINVAL, "'%s' is not a volume group name", v);
		return set_str(c->scratch_vg, sizeof(c->scratch_vg), v, err);
	}
	if (strcmp(k, "scratch_thinpool") == 0) {
		if (!lvm_name_ok(v))
			return vj_err_set(err, EINVAL, "'%s' is not a logical volume name", v);
		return set_str(c->scratch_thinpool, sizeof(c->scratch_thinpool), v, err);
	}
	if (strcmp(k, "scratch_lvm_wipe") == 0)
		return set_choice((int *)&c->scratch_lvm_wipe, v, HV_LVM_WIPE_WORDS, err);
	if (strcmp(k, "cache_size_mb") == 0)
		return set_uint(&c->cache_size_mb, v, 0, 1ull << 30, err);
	if (strcmp(k, "default_scratch_mb") == 0)
		return set_uint(&c->default_scratch_mb, v, 16, 16u << 20, err);
	if (strcmp(k, "instance") == 0)
		return set_str(c->instance, sizeof(c->instance), v, err);
	if (strcmp(k, "reap_interval") == 0) {
		if (set_uint(&n, v, 0, 86400, err))
			return -1;
		c->reap_interval = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "max_vms") == 0) {
		if (set_uint(&n, v, 0, 100000, err))
			return -1;
		c->max_vms = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "host_mem_reserve_mb") == 0)
		return set_uint(&c->host_mem_reserve_mb, v, 0, 1u << 30, err);
	if (strcmp(k, "pin_vcpus") == 0) {
		static const char *const yn[] = {"no", "yes", NULL};
		int w;
		if (set_choice(&w, v, yn, err))
			return -1;
		c->pin_vcpus = w == 1;
		return 0;
	}
	if (strcmp(k, "numa") == 0)
		return set_choice((int *)&c->numa, v, HV_NUMA_WORDS, err);
	if (strcmp(k, "disk_cache") == 0)
		return set_choice((int *)&c->disk_cache, v, HV_DISK_CACHE_WORDS, err);
	if (strcmp(k, "disk_io") == 0)
		return set_choice((int *)&c->disk_io, v, HV_DISK_IO_WORDS, err);
	if (strcmp(k, "export") == 0)
		return add_export(c, v, err);
	if (strcmp(k, "fs_transport") == 0)
		return set_choice((int *)&c->fs_transport, v, HV_FS_TRANSPORT_WORDS, err);
	if (strcmp(k, "network") == 0)
		return set_choice((int *)&c->network, v, HV_NETWORK_WORDS, err);
	if (strcmp(k, "guest_dns") == 0)
		return set_ip(c->guest_dns, sizeof(c->guest_dns), v, err);
	if (strcmp(k, "network_allow") == 0)
		return add_net_allow(c, v, err);
	if (strcmp(k, "slurm_user") == 0)
		return set_str(c->slurm_user, sizeof(c->slurm_user), v, err);
	if (strcmp(k, "log_level") == 0) {
		int l = hv_log_level_parse(v);
		if (l < 0)
			return vj_err_set(err, EINVAL, "'%s' is not one of error, warning, info, debug", v);
		c->log_level = l;
		return 0;
	}
	return -2; /* unknown: the caller names file and line */
}

int hv_config_load(struct hv_config *c, const char *path, bool must_exist, struct vj_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist) {
			snprintf(c->instance, sizeof(c->instance), "%s", c->state_dir);
			return 0;
		}
		return vj_err_sys(err, errno, "cannot open %s", path);
	}
	char buf[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(buf, sizeof(buf), f)) {
		lineno++;
		if (!strchr(buf, '\n') && !feof(f)) {
			rc = vj_err_set(err, EINVAL, "%s:%u: line too long", path, lineno);
			break;
		}
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *line = trim(buf);
		if (!*line)
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			rc = vj_err_set(err, EINVAL, "%s:%u: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		char *k = trim(line), *v = trim(eq + 1);
		int src = set_key(c, k, v, err);
		if (src == -2) {
			rc = vj_err_set(err, EINVAL, "%s:%u: unknown key '%s'", path, lineno, k);
			break;
		}
		if (src) {
			rc = vj_err_prefix(err, "%s:%u: %s", path, lineno, k);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = vj_err_sys(err, EIO, "cannot read %s", path);
	fclose(f);
	if (!rc && !c->instance[0])
		snprintf(c->instance, sizeof(c->instance), "%s", c->state_dir);
	/* QEMU refuses io=native unless the host page cache is bypassed. */
	if (!rc && c->disk_io == HV_IO_NATIVE && c->disk_cache != HV_CACHE_NONE &&
	    c->disk_cache != HV_CACHE_DIRECTSYNC)
		rc = vj_err_set(err, EINVAL, "%s: disk_io = native needs disk_cache = none or directsync",
				path);
	/* run_dir/vm/<64-char job>/agent.sock must fit a Unix socket address. */
	if (!rc && strlen(c->run_dir) + strlen("/vm/") + 64 + strlen("/agent.sock") >= 108)
		rc = vj_err_set(err, ENAMETOOLONG,
				"%s: run_dir '%s' is too long for the VMs' agent sockets (limit %zu bytes)",
				path, c->run_dir, 107 - strlen("/vm/") - 64 - strlen("/agent.sock"));
	if (!rc && c->scratch_backend == HV_SCRATCH_LVM && !c->scratch_vg[0])
		rc = vj_err_set(err, EINVAL, "%s: scratch_backend = lvm needs scratch_vg", path);
	if (!rc && c->scratch_thinpool[0] && c->scratch_backend != HV_SCRATCH_LVM)
		rc = vj_err_set(err, EINVAL, "%s: scratch_thinpool needs scratch_backend = lvm", path);
	return rc;
}
