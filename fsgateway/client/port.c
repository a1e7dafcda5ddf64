/* Finding and opening the virtio-serial port the host serves us on. */
#include "client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* The name QEMU gave the port in sysfs dir entry, or "" if unreadable. */
static void port_name(const char *entry, char *name, size_t n)
{
	char p[512];
	name[0] = '\0';
	snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", entry);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, name, n - 1);
	name[r > 0 ? r : 0] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

/* Ports are named by QEMU (name=org.vmjob.fs.N); the kernel numbers them
 * in probe order, so the name in sysfs is the only stable key. */
int vmfs_resolve_port(const char *arg, char *out, size_t n, struct vj_err *err)
{
	if (arg[0] == '/') {
		snprintf(out, n, "%s", arg);
		return 0;
	}
	cleanup_closedir DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return vj_err_sys(err, errno, "no virtio-serial port named %s", arg);
	struct dirent *e;
	while ((e = readdir(d))) {
		char name[256];
		if (e->d_name[0] == '.')
			continue;
		port_name(e->d_name, name, sizeof(name));
		if (strcmp(name, arg) == 0) {
			snprintf(out, n, "/dev/%s", e->d_name);
			return 0;
		}
	}
	return vj_err_set(err, ENOENT, "no virtio-serial port named %s", arg);
}

static int connect_unix(const char *path, struct vj_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vj_err_sys(err, errno, "%s", path);
	return vj_steal_fd(fd);
}

int vmfs_open_port(const char *path, int wait_s, struct vj_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return vj_err_sys(err, errno, "%s", path);
	cleanup_close int fd = -1;
	if (S_ISSOCK(st.st_mode))
		fd = connect_unix(path, err);
	else if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		vj_err_sys(err, errno, "%s", path);
	if (fd < 0)
		return -1;
	/* A virtio port polls POLLHUP until the host end is connected; a read
	 * then would return EOF at once and look like a dead server. */
	for (int ms = 0;; ms += 100) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			return vj_err_sys(err, errno, "%s: poll", path);
		if (!(p.revents & POLLHUP))
			return vj_steal_fd(fd);
		if (ms >= wait_s * 1000)
			return vj_err_set(err, ENOTCONN, "%s: the host end did not connect", path);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
}
