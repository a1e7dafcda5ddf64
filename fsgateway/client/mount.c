/* Mounting: mount(2) with a /dev/fuse fd, no fusermount in the guest; or
 * mount(2) of a virtio-fs device, which needs no fd and no forwarder. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

int vmfs_mount(const char *mnt, struct vj_err *err)
{
	cleanup_close int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* fuse is loaded but no devtmpfs node (a bare /dev): make it. */
		if (mknod("/dev/fuse", S_IFCHR | 0666, makedev(10, 229)) == 0 || errno == EEXIST)
			fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return vj_err_sys(err, errno, "mounting %s: /dev/fuse", mnt);
	struct stat st;
	if (stat(mnt, &st) < 0)
		return vj_err_sys(err, errno, "mounting %s", mnt);
	if (!S_ISDIR(st.st_mode))
		return vj_err_set(err, ENOTDIR, "mounting %s: not a directory", mnt);
	/* No default_permissions: the guest kernel does not check modes, the
	 * host does, as the job owner, so guest root has exactly the owner's
	 * rights. allow_other: every guest user reaches it (the VM is the
	 * job's alone). nosuid/nodev: nothing on the share can raise
	 * privileges inside the guest either. */
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("vmfs", mnt, "fuse.vmfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return vj_err_sys(err, errno, "mounting %s", mnt);
	return vj_steal_fd(fd);
}

/* The first request of a new mount waits for FUSE_INIT's reply, so a stat
 * that comes back proves the host end is serving. It runs in a child: a
 * host that never answers must not hang the guest's boot (FUSE waits are
 * killable). */
static int first_answer(const char *mnt, int wait_s, struct vj_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork");
	if (pid == 0) {
		struct stat st;
		_exit(stat(mnt, &st) == 0 ? 0 : (errno & 0xff) ? errno & 0xff : EIO);
	}
	int status = 0;
	for (long ms = 0;; ms += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 || ms >= wait_s * 1000L) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return vj_err_set(err, ETIMEDOUT, "the host did not answer within %d s", wait_s);
		}
		usleep(20000);
	}
	int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	if (e == 0)
		return 0;
	if (e == ECONNREFUSED) /* the kernel's answer once INIT failed */
		return vj_err_set(err, e, "the host's server failed the session start (INIT)");
	return vj_err_sys(err, e, "the host answered");
}

int vmfs_mount_virtiofs(const char *tag, const char *mnt, int wait_s, struct vj_err *err)
{
	/* The driver imposes default_permissions and allow_other; the host
	 * still decides every access as the job owner. nosuid/nodev as for
	 * the FUSE mounts. No options: 6.1's virtiofs knows only dax. */
	if (mount(tag, mnt, "virtiofs", MS_NOSUID | MS_NODEV, NULL) < 0) {
		if (errno == ENODEV)
			return vj_err_set(err, ENODEV, "mounting %s at %s: no virtiofs in this kernel "
					  "(modprobe virtiofs)", tag, mnt);
		if (errno == EINVAL) /* the driver's answer to an unknown tag */
			return vj_err_set(err, EINVAL, "mounting %s at %s: no virtio-fs device with "
					  "that tag", tag, mnt);
		return vj_err_sys(err, errno, "mounting %s at %s", tag, mnt);
	}
	if (first_answer(mnt, wait_s, err) < 0) {
		umount2(mnt, MNT_DETACH);
		return vj_err_prefix(err, "%s at %s", tag, mnt);
	}
	return 0;
}
