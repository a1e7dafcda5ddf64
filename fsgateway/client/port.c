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

/* Ports are named by QEMU (name=org.vmjob.fs.N); the kernel numbers them
 * in probe order, so the name in sysfs is the only stable key. */
int vmfs_resolve_port(const char *arg, char *out, size_t n)
{
	if (arg[0] == '/') {
		snprintf(out, n, "%s", arg);
		return 0;
	}
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[512], name[256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (r <= 0)
			continue;
		name[r] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, arg) == 0) {
			snprintf(out, n, "/dev/%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	errno = ENOENT;
	return -1;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int vmfs_open_port(const char *path, int wait_s)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	int fd = S_ISSOCK(st.st_mode) ? connect_unix(path) : open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	/* A virtio port polls POLLHUP until the host end is connected; a read
	 * then would return EOF at once and look like a dead server. */
	for (int ms = 0;; ms += 100) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			break;
		if (!(p.revents & POLLHUP))
			return fd;
		if (ms >= wait_s * 1000) {
			close(fd);
			errno = ENOTCONN;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	close(fd);
	return -1;
}
