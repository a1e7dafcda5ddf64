#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

/* Last non-empty line of buf, trimmed, for a one-line error message. */
static const char *last_line(char *buf)
{
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	char *nl = strrchr(buf, '\n');
	return nl ? nl + 1 : buf;
}

int hv_run(char *const argv[], struct vj_err *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vj_err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return vj_err_sys(err, e, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		/* Only async-signal-safe calls here: hvd is multithreaded. */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		dup2(pipefd[1], 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		static const char msg[] = "cannot execute the program\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	close(pipefd[1]);
	char out[4096];
	size_t used = 0;
	for (;;) {
		char chunk[1024];
		ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep the tail: the last line is the one that explains. */
		if (used + (size_t)n >= sizeof(out)) {
			size_t drop = used + (size_t)n - (sizeof(out) - 1);
			if (drop > used)
				drop = used;
			memmove(out, out + drop, used - drop);
			used -= drop;
		}
		size_t take = (size_t)n < sizeof(out) - 1 - used ? (size_t)n : sizeof(out) - 1 - used;
		memcpy(out + used, chunk + (size_t)n - take, take);
		used += take;
	}
	out[used] = '\0';
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vj_err_sys(err, errno, "waitpid for %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	const char *why = last_line(out);
	if (WIFSIGNALED(status))
		return vj_err_set(err, EIO, "%s killed by signal %d%s%s", argv[0], WTERMSIG(status),
				  *why ? ": " : "", why);
	return vj_err_set(err, EIO, "%s failed (exit %d)%s%s", argv[0], WEXITSTATUS(status),
			  *why ? ": " : "", why);
}

int hv_run_capture(char *const argv[], char *out, size_t outsz, int timeout_ms,
		   const char *marker, int *status, struct vj_err *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vj_err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return vj_err_sys(err, e, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		setpgid(0, 0); /* so a timeout kills everything it started */
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pipefd[1]);
	size_t used = 0;
	out[0] = '\0';
	int found = 0;
	long long deadline = hv_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - hv_now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		char chunk[1024];
		ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < outsz - 1 - used ? (size_t)n : outsz - 1 - used;
		memcpy(out + used, chunk, take);
		used += take;
		out[used] = '\0';
		if (marker && strstr(out, marker)) {
			found = 1;
			break;
		}
	}
	close(pipefd[0]);
	int st;
	pid_t w = waitpid(pid, &st, WNOHANG);
	if (w == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		*status = -1;
	} else {
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	return found;
}
