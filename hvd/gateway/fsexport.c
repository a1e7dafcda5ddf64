#include "fsexport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/owner.h"
#include "libvirt/qemuuser.h"
#include "base/spawn.h"
#include "vm/vm.h"

#define FS_SERVER VJ_VMFS_SERVER
/* How long a vhost-user server may take to make its socket: it only parses
 * its arguments, opens the export and binds. */
#define READY_MS 5000
#define READY_POLL_NS (10 * 1000 * 1000)

bool hv_fs_virtiofs(const struct hv_config *c)
{
	return c->nexports > 0 && c->fs_transport == HV_FS_VIRTIOFS;
}

void hv_fs_sock_path(const char *run_dir, unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/fs.%u.sock", run_dir, i);
}

int hv_fs_export_path(const struct hv_config *c, unsigned i, uid_t uid, gid_t gid, char *out,
		      size_t outsz, struct vj_err *err)
{
	const char *tmpl = c->exports[i];
	size_t used = 0;
	out[0] = '\0';
	static __thread struct hv_owner o;
	if (strchr(tmpl, '%'))
		hv_owner_lookup(uid, gid, &o);
	for (const char *p = tmpl; *p; p++) {
		char name[256] = "";
		if (p[0] == '%' && (p[1] == 'u' || p[1] == 'g')) {
			/* gnames[0] is the primary group's (base/owner.h) */
			snprintf(name, sizeof(name), "%s", p[1] == 'u' ? o.user : o.gnames[0]);
			if (!name[0] && p[1] == 'u')
				return vj_err_set(err, ENOENT, "export %s: uid %u has no user name here",
						  tmpl, (unsigned)uid);
			if (!name[0])
				return vj_err_set(err, ENOENT, "export %s: gid %u has no group name here",
						  tmpl, (unsigned)gid);
			/* One path component, nothing the guest's mount list uses. */
			if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/ \t,:"))
				return vj_err_set(err, EINVAL, "export %s: '%s' cannot be part of a path", tmpl,
						  name);
			p++;
		} else {
			name[0] = *p;
			name[1] = '\0';
		}
		int w = snprintf(out + used, outsz - used, "%s", name);
		if (w < 0 || (size_t)w >= outsz - used)
			return vj_err_set(err, ENAMETOOLONG, "export %s: path too long", tmpl);
		used += (size_t)w;
	}
	return 0;
}

int hv_fs_cmdline(const struct hv_config *c, uid_t uid, gid_t gid, char *out, size_t outsz,
		  struct vj_err *err)
{
	size_t used = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < c->nexports; i++) {
		char path[PATH_MAX];
		if (hv_fs_export_path(c, i, uid, gid, path, sizeof(path), err))
			return -1;
		int w = snprintf(out + used, outsz - used, "%s%u:%s", i ? "," : " vmjob.fs=", i, path);
		if (w < 0 || (size_t)w >= outsz - used)
			return vj_err_set(err, E2BIG, "the exports do not fit on the guest's cmdline");
		used += (size_t)w;
	}
	/* Absent = the serial transport: older images know nothing else. */
	if (hv_fs_virtiofs(c) && hv_path(out + used, outsz - used, " vmjob.fsdev=virtiofs"))
		return vj_err_set(err, E2BIG, "the exports do not fit on the guest's cmdline");
	return 0;
}

/* The owner's groups as "a,b,c", the primary first (just the primary group
 * when the uid has no passwd entry on this host). */
static void owner_groups(uid_t uid, gid_t gid, char *out, size_t outsz)
{
	static __thread struct hv_owner o;
	hv_owner_lookup(uid, gid, &o);
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < o.ngids; i++) {
		int w = snprintf(out + used, outsz - used, "%s%u", i ? "," : "", (unsigned)o.gids[i]);
		if (w < 0 || (size_t)w >= outsz - used)
			break;
		used += (size_t)w;
	}
}

/* What one server is started with, for either transport. */
struct server_args {
	char uid[16], gid[16], groups[2048];
	char owner[32]; /* virtiofs: QEMU's uid:gid, who alone may connect */
	bool vhost;
};

static pid_t start_server(const struct server_args *a, const char *export, const char *sock,
			  const char *log, struct vj_err *err)
{
	char *serial[] = {(char *)FS_SERVER, "--channel", (char *)sock, "--export",
			  (char *)export, "--uid", (char *)a->uid, "--gid", (char *)a->gid,
			  "--groups", (char *)a->groups, NULL};
	char *vhost[] = {(char *)FS_SERVER, "--vhost-user", (char *)sock, "--socket-owner",
			 (char *)a->owner, "--export", (char *)export, "--uid", (char *)a->uid,
			 "--gid", (char *)a->gid, "--groups", (char *)a->groups, NULL};
	return hv_spawn_logged(a->vhost ? vhost : serial, log, err);
}

static void log_path(const struct hv_vm *vm, unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/fs.%u.log", vm->run_dir, i);
}

/* One clear line for a server that never became ready, with its own last
 * word: that is where the reason is (export unreadable, bad owner...). */
static int not_started(const struct hv_vm *vm, unsigned i, const char *export, const char *how,
		       struct vj_err *err)
{
	char log[PATH_MAX + 32], last[300];
	log_path(vm, i, log, sizeof(log));
	hv_file_last_line(log, last, sizeof(last));
	if (!last[0])
		return vj_err_set(err, EIO, "filesystem gateway for %s did not start: %s", export, how);
	return vj_err_set(err, EIO, "filesystem gateway for %s did not start: %s (%s)", export, last,
			  how);
}

static bool is_socket(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* vhost-user: QEMU connects to every server while it starts, so the domain
 * may start only once each socket exists. A server renames its socket into
 * place after listen(), so the name appearing means it accepts. */
static int wait_ready(const struct hv_config *c, struct hv_vm *vm, struct vj_err *err)
{
	long long deadline = hv_now_ms() + READY_MS;
	struct timespec tick = {0, READY_POLL_NS};
	for (unsigned i = 0; i < vm->nfs; i++) {
		char sock[PATH_MAX + 32], how[64];
		hv_fs_sock_path(vm->run_dir, i, sock, sizeof(sock));
		while (!is_socket(sock)) {
			int st;
			if (waitpid(vm->fs_pids[i], &st, WNOHANG) == vm->fs_pids[i]) {
				vm->fs_pids[i] = 0; /* reaped: teardown must not signal it */
				if (WIFEXITED(st))
					snprintf(how, sizeof(how), "exited with status %d",
						 WEXITSTATUS(st));
				else
					snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
				return not_started(vm, i, c->exports[i], how, err);
			}
			if (hv_now_ms() >= deadline) {
				snprintf(how, sizeof(how), "no socket after %d s", READY_MS / 1000);
				return not_started(vm, i, c->exports[i], how, err);
			}
			nanosleep(&tick, NULL);
		}
	}
	return 0;
}

int hv_fs_start(const struct hv_config *c, struct hv_vm *vm, const char *virt, struct vj_err *err)
{
	struct server_args a = {.vhost = hv_fs_virtiofs(c)};
	snprintf(a.uid, sizeof(a.uid), "%u", (unsigned)vm->d.uid);
	snprintf(a.gid, sizeof(a.gid), "%u", (unsigned)vm->d.gid);
	owner_groups(vm->d.uid, vm->d.gid, a.groups, sizeof(a.groups));
	if (a.vhost) {
		uid_t qu;
		gid_t qg;
		if (hv_qemu_user(virt, &qu, &qg, err))
			return vj_err_prefix(err, "filesystem gateway: cannot tell which user QEMU runs as");
		snprintf(a.owner, sizeof(a.owner), "%u:%u", (unsigned)qu, (unsigned)qg);
	}
	for (unsigned i = 0; i < c->nexports; i++) {
		char path[PATH_MAX];
		if (hv_fs_export_path(c, i, vm->d.uid, vm->d.gid, path, sizeof(path), err))
			return -1;
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return vj_err_set(err, ENOENT,
					  "export %s (hvd.conf %s) is not a directory on this host", path,
					  c->exports[i]);
		char sock[PATH_MAX + 32], log[PATH_MAX + 32];
		hv_fs_sock_path(vm->run_dir, i, sock, sizeof(sock));
		log_path(vm, i, log, sizeof(log));
		pid_t pid = start_server(&a, path, sock, log, err);
		if (pid < 0)
			return vj_err_prefix(err, "filesystem gateway for %s", path);
		vm->fs_pids[vm->nfs++] = pid;
		hv_debug("job %s: gateway for %s (%s): pid %d", vm->d.job, path,
			 a.vhost ? "virtiofs" : "serial", (int)pid);
	}
	return a.vhost ? wait_ready(c, vm, err) : 0;
}

void hv_fs_stop(struct hv_vm *vm)
{
	for (unsigned i = 0; i < vm->nfs; i++)
		if (vm->fs_pids[i] > 0)
			kill(vm->fs_pids[i], SIGTERM);
	struct timespec tick = {0, 50 * 1000 * 1000};
	for (unsigned i = 0; i < vm->nfs; i++) {
		pid_t pid = vm->fs_pids[i];
		if (pid <= 0)
			continue;
		int st;
		for (int t = 0; waitpid(pid, &st, WNOHANG) == 0; t++) {
			if (t == 100) { /* 5 s: it should have gone at EOF already */
				hv_warn("job %s: gateway pid %d ignores SIGTERM; killing it", vm->d.job,
					(int)pid);
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				break;
			}
			nanosleep(&tick, NULL);
		}
		vm->fs_pids[i] = 0;
	}
	vm->nfs = 0;
}

bool hv_fs_shared(const struct hv_config *c, uid_t uid, gid_t gid, const char *path)
{
	if (!hv_path_plain(path))
		return false;
	for (unsigned i = 0; i < c->nexports; i++) {
		char e[PATH_MAX];
		struct vj_err ignored;
		if (!hv_fs_export_path(c, i, uid, gid, e, sizeof(e), &ignored) &&
		    hv_path_under(path, e))
			return true;
	}
	return false;
}

int hv_fs_dead(const struct hv_vm *vm)
{
	for (unsigned i = 0; i < vm->nfs; i++)
		if (vm->fs_pids[i] > 0 && hv_pid_gone(vm->fs_pids[i]))
			return (int)i;
	return -1;
}

/* The pid of the gateway server serving socket sock, from /proc: 0 if none. */
static pid_t server_of(const char *sock)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;
	struct dirent *e;
	while (d && !found && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], cmd[8192];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		cmd[n] = '\0';
		if (strcmp(cmd, FS_SERVER))
			continue;
		/* argv[1] is --channel or --vhost-user, argv[2] the socket */
		const char *a1 = cmd + strlen(cmd) + 1;
		const char *a2 = a1 < cmd + n ? a1 + strlen(a1) + 1 : NULL;
		if (a2 && a2 < cmd + n && !strcmp(a2, sock))
			found = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

void hv_fs_find(const struct hv_config *c, struct hv_vm *vm)
{
	vm->nfs = 0;
	for (unsigned i = 0; i < c->nexports && i < HV_MAX_EXPORTS; i++) {
		char sock[PATH_MAX + 32];
		hv_fs_sock_path(vm->run_dir, i, sock, sizeof(sock));
		vm->fs_pids[i] = server_of(sock);
		if (!vm->fs_pids[i])
			hv_warn("job %s: adopted VM has no gateway server for export %s", vm->d.job,
				c->exports[i]);
	}
	vm->nfs = c->nexports;
}
