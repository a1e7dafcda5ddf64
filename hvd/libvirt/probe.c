#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/spawn.h"

#define PROBE_MARKER "VMJOB-PROBE-OK"

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static char decided[8]; /* "" until decided, under probe_lock */
static char decided_why[512]; /* why, for hvctl vms */

static void cache_key(const struct hv_config *cfg, char *key, size_t keysz)
{
	struct utsname u;
	char ver[512] = "";
	int st;
	char *argv[] = {(char *)cfg->qemu, "--version", NULL};
	hv_run_capture(argv, ver, sizeof(ver), 10000, NULL, &st, NULL);
	char *nl = strchr(ver, '\n');
	if (nl)
		*nl = '\0';
	uname(&u);
	/* cpu=host: verdicts of probes without the VMs' CPU model do not count. */
	snprintf(key, keysz, "%s|%s|cpu=host", u.release, ver);
	for (char *p = key; *p; p++)
		if (*p == '\t')
			*p = ' ';
}

/* The cached verdict: KEY<TAB>VIRT<TAB>WHY (WHY may be missing: older hvd). */
static int read_cache(const char *path, const char *key, char virt[8], char *why, size_t whysz)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[2048];
	int rc = -1;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		size_t klen = strlen(key);
		char *v = line + klen;
		if (!strncmp(line, key, klen) && *v == '\t') {
			v++;
			char *w = strchr(v, '\t');
			if (w)
				*w++ = '\0';
			if (!strcmp(v, "kvm") || !strcmp(v, "qemu")) {
				strcpy(virt, v);
				snprintf(why, whysz, "%s", w ? w : "probed earlier");
				rc = 0;
			}
		}
	}
	fclose(f);
	return rc;
}

static void write_cache(const char *path, const char *key, const char *virt, const char *why)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\t%s\t%s\n", key, virt, why);
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

static int run_probe(const struct hv_config *cfg, const char *kernel, const char *initrd,
		     const char *cmdline, char *why, size_t whysz)
{
	char append[1200];
	snprintf(append, sizeof(append), "%s vmjob.probe=1", cmdline);
	/* The CPU model the VMs get (domxml.c: host-passthrough): a KVM that
	 * boots only other models must not pass. */
	char *argv[] = {(char *)cfg->qemu, "-accel", "kvm", "-cpu", "host,migratable=off",
			"-machine", "pc", "-m", "256",
			"-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
			"-serial", "stdio", "-no-reboot", "-kernel", (char *)kernel,
			"-initrd", (char *)initrd, "-append", append, NULL};
	static char out[65536]; /* probe_lock held: one probe at a time */
	int st;
	struct vj_err err = {0};
	long long t0 = hv_now_ms();
	int found = hv_run_capture(argv, out, sizeof(out), (int)cfg->probe_timeout * 1000,
				   PROBE_MARKER, &st, &err);
	long long dt = hv_now_ms() - t0;
	if (found < 0) {
		snprintf(why, whysz, "probe could not run: %.300s", err.msg);
		return 0;
	}
	if (found) {
		snprintf(why, whysz, "probe boot under KVM printed " PROBE_MARKER " after %lld ms", dt);
		return 1;
	}
	/* The last output line usually says why (e.g. QEMU's KVM init error). */
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	char *last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	if (st == -1)
		snprintf(why, whysz, "probe boot under KVM gave no " PROBE_MARKER " within %u s (last output: '%.200s')",
			 cfg->probe_timeout, last);
	else
		snprintf(why, whysz, "probe boot under KVM exited with status %d (last output: '%.200s')", st, last);
	return 0;
}

int hv_probe_virt(const struct hv_config *cfg, const char *kernel, const char *initrd,
		  const char *cmdline, char virt[8], struct vj_err *err)
{
	(void)err;
	if (cfg->virt_type != HV_VIRT_AUTO) {
		strcpy(virt, HV_VIRT_TYPE_WORDS[cfg->virt_type]);
		return 0;
	}
	pthread_mutex_lock(&probe_lock);
	if (decided[0]) {
		strcpy(virt, decided);
		pthread_mutex_unlock(&probe_lock);
		return 0;
	}
	char why[512];
	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		strcpy(decided, "qemu");
		snprintf(why, sizeof(why), "/dev/kvm is not usable (%s)", strerror(errno));
		hv_info("virtualisation: using TCG (qemu): %s", why);
	} else {
		char key[700], path[PATH_MAX];
		cache_key(cfg, key, sizeof(key));
		hv_path(path, sizeof(path), "%s/kvm-probe", cfg->state_dir);
		if (read_cache(path, key, decided, why, sizeof(why)) == 0) {
			hv_info("virtualisation: using %s, as probed earlier (%s, key '%s'): %s",
				!strcmp(decided, "kvm") ? "KVM" : "TCG (qemu)", path, key, why);
		} else {
			hv_info("virtualisation: probing KVM with the image's kernel (up to %u s)",
				cfg->probe_timeout);
			int ok = run_probe(cfg, kernel, initrd, cmdline, why, sizeof(why));
			strcpy(decided, ok ? "kvm" : "qemu");
			hv_info("virtualisation: using %s: %s", ok ? "KVM" : "TCG (qemu)", why);
			write_cache(path, key, decided, why);
		}
	}
	snprintf(decided_why, sizeof(decided_why), "%s", why);
	strcpy(virt, decided);
	pthread_mutex_unlock(&probe_lock);
	return 0;
}

bool hv_probe_verdict(const struct hv_config *cfg, char virt[8], char *why, size_t whysz)
{
	if (cfg->virt_type != HV_VIRT_AUTO) {
		strcpy(virt, HV_VIRT_TYPE_WORDS[cfg->virt_type]);
		snprintf(why, whysz, "virt_type = %s in hvd.conf (no probe)", virt);
		return true;
	}
	pthread_mutex_lock(&probe_lock);
	bool known = decided[0] != '\0';
	if (known) {
		strcpy(virt, decided);
		snprintf(why, whysz, "%s", decided_why);
	}
	pthread_mutex_unlock(&probe_lock);
	return known;
}
