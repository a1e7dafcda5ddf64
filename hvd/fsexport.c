#include "fsexport.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "spawn.h"
#include "vm.h"

#ifndef VJ_LIBEXECDIR
#define VJ_LIBEXECDIR "/usr/local/libexec/vmjob"
#endif
#define FS_SERVER VJ_LIBEXECDIR "/vmfs-server"
#define MAX_GROUPS 256

void hv_fs_sock_path(const char *run_dir, unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/fs.%u.sock", run_dir, i);
}

int hv_fs_cmdline(const struct hv_config *c, char *out, size_t outsz, struct vj_err *err)
{
	size_t used = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < c->nexports; i++) {
		int w = snprintf(out + used, outsz - used, "%s%u:%s", i ? "," : " vmjob.fs=", i,
				 c->exports[i]);
		if (w < 0 || (size_t)w >= outsz - used)
			return vj_err_set(err, E2BIG, "the exports do not fit on the guest's cmdline");
		used += (size_t)w;
	}
	return 0;
}

/* The owner's supplementary groups as "a,b,c" (just the primary group when
 * the uid has no passwd entry on this host). */
static void owner_groups(uid_t uid, gid_t gid, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS;
	snprintf(out, outsz, "%u", (unsigned)gid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return;
	if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
		return; /* more than MAX_GROUPS: keep the primary group only */
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + used, outsz - used, "%s%u", i ? "," : "", (unsigned)groups[i]);
		if (w < 0 || (size_t)w >= outsz - used)
			break;
		used += (size_t)w;
	}
}

int hv_fs_start(const struct hv_config *c, struct hv_vm *vm, struct vj_err *err)
{
	char uid[16], gid[16], groups[2048];
	snprintf(uid, sizeof(uid), "%u", (unsigned)vm->uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)vm->gid);
	owner_groups(vm->uid, vm->gid, groups, sizeof(groups));
	for (unsigned i = 0; i < c->nexports; i++) {
		struct stat st;
		if (stat(c->exports[i], &st) < 0 || !S_ISDIR(st.st_mode))
			return vj_err_set(err, ENOENT,
					  "export %s (hvd.conf) is not a directory on this host",
					  c->exports[i]);
		char sock[PATH_MAX + 32], log[PATH_MAX + 32];
		hv_fs_sock_path(vm->run_dir, i, sock, sizeof(sock));
		snprintf(log, sizeof(log), "%s/fs.%u.log", vm->run_dir, i);
		char *argv[] = {(char *)FS_SERVER, "--channel", sock, "--export",
				(char *)c->exports[i], "--uid", uid, "--gid", gid,
				"--groups", groups, NULL};
		pid_t pid = hv_spawn_logged(argv, log, err);
		if (pid < 0)
			return vj_err_prefix(err, "filesystem gateway for %s", c->exports[i]);
		vm->fs_pids[vm->nfs++] = pid;
		hv_debug("job %s: gateway for %s: pid %d", vm->job, c->exports[i], (int)pid);
	}
	return 0;
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
				hv_warn("job %s: gateway pid %d ignores SIGTERM; killing it", vm->job,
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
