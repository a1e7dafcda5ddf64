/* With a pty (srun --pty) the line discipline that matters is the guest's:
 * the local tty goes raw so every key reaches it unchanged, and is put back
 * however we leave (exit, or re-raising the guest's fatal signal). */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "vmexec.h"

static struct termios saved;
static int saved_fd = -1;

bool vmexec_tty_size(int fd, unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return false;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return true;
}

void vmexec_tty_restore(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSADRAIN, &saved);
		saved_fd = -1;
	}
}

int vmexec_tty_raw(int fd, struct vj_err *err)
{
	if (tcgetattr(fd, &saved) < 0)
		return vj_err_sys(err, errno, "reading the terminal settings");
	struct termios raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return vj_err_sys(err, errno, "setting the terminal to raw mode");
	saved_fd = fd;
	atexit(vmexec_tty_restore);
	return 0;
}
