/* The agent's end of the virtio-serial channel.
 *
 * The Linux virtio_console driver reports the host side's state through poll:
 * while no host process holds the chardev socket, the port polls as
 * POLLIN|POLLHUP and read() returns 0. So "connected" is sampled with a
 * zero-timeout poll, and while disconnected the port is left out of the main
 * poll set (it would spin) and re-sampled on a short timer instead. The fd
 * stays blocking: reads only follow POLLIN, and a write may wait for the host
 * to drain the virtqueue, which is the back-pressure we want. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

void port_init(struct port *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	vj_reader_init(&p->rd, VJ_FRAME_MAX);
}

/* Find /dev/vportNpM whose sysfs name is ours. 0 found, -1 not (yet). */
static int port_find(char *out, size_t outsz)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return -1;
	struct dirent *de;
	int rc = -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char fn[300], name[64] = "";
		snprintf(fn, sizeof(fn), "/sys/class/virtio-ports/%s/name", de->d_name);
		FILE *f = fopen(fn, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
		if (strcmp(name, AG_PORT_NAME) == 0 &&
		    (size_t)snprintf(out, outsz, "/dev/%s", de->d_name) < outsz) {
			rc = 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

static void port_reset_input(struct port *p)
{
	vj_reader_free(&p->rd);
	vj_reader_init(&p->rd, VJ_FRAME_MAX);
}

bool port_refresh(struct port *p)
{
	if (p->fd < 0) {
		static bool warned;
		if (port_find(p->path, sizeof(p->path)) < 0) {
			if (!warned)
				ag_log("waiting for virtio-serial port %s", AG_PORT_NAME);
			warned = true;
			return false;
		}
		p->fd = open(p->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (p->fd < 0) {
			if (!warned)
				ag_log("open %s: %s", p->path, strerror(errno));
			warned = true;
			return false;
		}
		warned = false;
		p->connected = false;
		ag_log("opened %s", p->path);
	}
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	if (poll(&pfd, 1, 0) < 0)
		return false;
	bool now = !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
	bool was = p->connected;
	p->connected = now;
	if (was && !now)
		port_reset_input(p);
	return now && !was;
}

void port_lost(struct port *p, bool reopen)
{
	p->connected = false;
	port_reset_input(p);
	if (reopen && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

int port_send(struct port *p, uint16_t type, uint32_t stream, const void *payload, size_t len)
{
	if (p->fd < 0 || !p->connected)
		return -1;
	struct vj_err err;
	if (vj_frame_write(p->fd, type, stream, payload, len, &err) < 0) {
		ag_log("write %s to host: %s", vj_type_name(type), err.msg);
		/* EPIPE/EAGAIN: the host hung up; ENODEV: the port was unplugged. */
		port_lost(p, err.code == ENODEV || err.code == EBADF);
		return -1;
	}
	return 0;
}
