/* Becoming the job owner for good: supplementary groups, gid, uid (in that
 * order: once the uid is gone, setgroups is no longer allowed), then prove
 * root cannot come back and that no capability survived. */
#include "fsgw.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Only the channel survives into the guest-facing part: hvd's other fds
 * (its sockets, other VMs' files) must not be reachable from here. */
int fsgw_keep_fds(int keep, int keep2, struct vj_err *err)
{
	int k[2] = { keep, keep2 };
	if (k[1] >= 0 && k[1] < k[0])
		k[0] = keep2, k[1] = keep;
	unsigned from = 3;
	for (int i = 0; i < 2; i++) {
		if (k[i] < 0 || (unsigned)k[i] < from)
			continue;
		if ((unsigned)k[i] > from && close_range(from, (unsigned)k[i] - 1, 0) < 0)
			return vj_err_sys(err, errno, "close_range");
		from = (unsigned)k[i] + 1;
	}
	if (close_range(from, ~0u, 0) < 0)
		return vj_err_sys(err, errno, "close_range");
	return 0;
}

int fsgw_set_fd_limit(rlim_t n, struct vj_err *err)
{
	/* Each guest-held inode costs one host fd: this bounds what a guest
	 * can pin (cf. CVE-2020-10717). Hard = soft, so it cannot be raised. */
	struct rlimit rl = { n, n };
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return 0;
	int e = errno;
	/* Without CAP_SYS_RESOURCE (an unprivileged test run, a confined
	 * root) the current hard limit is as far as we get: use it, lowered
	 * to n, and say so. */
	if (e == EPERM && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < n) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
			fprintf(stderr, "vmfs-server: fd limit %lu (could not raise it to %lu)\n",
				(unsigned long)rl.rlim_max, (unsigned long)n);
			return 0;
		}
	}
	return vj_err_sys(err, e, "setting the fd limit to %lu", (unsigned long)n);
}

static int no_capabilities(struct vj_err *err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 }; /* valgrind knows only v1 capget */
	if (syscall(SYS_capget, &h, d) < 0)
		return vj_err_sys(err, errno, "capget");
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return vj_err_set(err, EPERM, "capabilities survived the uid change");
	return 0;
}

int fsgw_drop_privileges(const struct fsgw_ident *id, struct vj_err *err)
{
	if (id->uid == 0 || id->gid == 0)
		return vj_err_set(err, EINVAL, "refusing to serve as uid or gid 0");
	if (geteuid() == 0) {
		if (id->ngroups >= 0) {
			if (setgroups((size_t)id->ngroups, id->groups) < 0)
				return vj_err_sys(err, errno, "setgroups");
		} else {
			struct passwd *pw = getpwuid(id->uid);
			int r = pw ? initgroups(pw->pw_name, id->gid) : setgroups(0, NULL);
			if (r < 0)
				return vj_err_sys(err, errno, "initgroups for uid %u", (unsigned)id->uid);
		}
		if (setresgid(id->gid, id->gid, id->gid) < 0)
			return vj_err_sys(err, errno, "setresgid(%u)", (unsigned)id->gid);
		if (setresuid(id->uid, id->uid, id->uid) < 0)
			return vj_err_sys(err, errno, "setresuid(%u)", (unsigned)id->uid);
	}
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return vj_err_sys(err, errno, "getresuid");
	if (r != id->uid || e != id->uid || s != id->uid || rg != id->gid || eg != id->gid || sg != id->gid)
		return vj_err_set(err, EPERM, "running as uid %u gid %u, not as the job owner %u:%u",
				  (unsigned)e, (unsigned)eg, (unsigned)id->uid, (unsigned)id->gid);
	if (setuid(0) == 0)
		return vj_err_set(err, EPERM, "could regain root after dropping privileges");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return vj_err_sys(err, errno, "clearing ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vj_err_sys(err, errno, "PR_SET_NO_NEW_PRIVS");
	return no_capabilities(err);
}
