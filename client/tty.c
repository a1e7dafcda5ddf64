/* With a pty (srun --pty, hvctl exec -t) the line discipline that matters is
 * the guest's: the local tty goes raw so every key reaches it unchanged, and
 * is put back however we leave (vj_tty_restore, at exit too). */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "hvdexec.h"

static struct termios saved;
static int saved_fd = -1;

bool vj_tty_size(int fd, unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return false;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return true;
}

void vj_tty_restore(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSADRAIN, &saved);
		saved_fd = -1;
	}
}

int vj_tty_raw(int fd, struct vj_err *err)
{
	static bool at_exit;
	struct termios now;
	if (tcgetattr(fd, &now) < 0)
		return vj_err_sys(err, errno, "reading the terminal settings");
	struct termios raw = now;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return vj_err_sys(err, errno, "setting the terminal to raw mode");
	if (saved_fd < 0) { /* raw twice: the first settings are the ones to restore */
		saved = now;
		saved_fd = fd;
	}
	if (!at_exit && atexit(vj_tty_restore) == 0)
		at_exit = true;
	return 0;
}
