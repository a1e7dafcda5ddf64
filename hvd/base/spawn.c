#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	/* LVM ends its errors with a generic "Run `lvcreate --help' ..." hint:
	 * the line before it is the one that explains. */
	if (nl && strncmp(nl + 1 + strspn(nl + 1, " "), "Run `", 5) == 0) {
		*nl = '\0';
		nl = strrchr(buf, '\n');
	}
	const char *line = nl ? nl + 1 : buf;
	return line + strspn(line, " ");
}

/* The captured stdout of a finished tool, NUL-terminated; output that does
 * not fit is an error, never silently cut (a cut listing would hide volumes). */
static int read_back(int fd, const char *tool, char *out, size_t outsz, struct vj_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vj_err_sys(err, errno, "cannot read the output of %s", tool);
	if ((uint64_t)st.st_size >= outsz)
		return vj_err_set(err, EOVERFLOW, "%s printed %lld bytes, more than the %zu expected",
				  tool, (long long)st.st_size, outsz - 1);
	size_t used = 0;
	while (used < (size_t)st.st_size) {
		ssize_t n = pread(fd, out + used, (size_t)st.st_size - used, (off_t)used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vj_err_sys(err, n < 0 ? errno : EIO, "cannot read the output of %s", tool);
		used += (size_t)n;
	}
	out[used] = '\0';
	return 0;
}

int hv_run(char *const argv[], struct vj_err *err)
{
	return hv_run_env(argv, NULL, NULL, 0, err);
}

/* The program a clean-environment run executes: argv[0] itself if it names
 * a path, else the first executable in HV_TOOL_PATH (never hvd's PATH). */
static int tool_path(const char *name, char *out, size_t outsz, struct vj_err *err)
{
	if (strchr(name, '/'))
		return hv_path(out, outsz, "%s", name) ? vj_err_set(err, ENAMETOOLONG, "%s", name) : 0;
	const char *p = HV_TOOL_PATH;
	while (*p) {
		size_t n = strcspn(p, ":");
		if (hv_path(out, outsz, "%.*s/%s", (int)n, p, name) == 0 && access(out, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return vj_err_set(err, ENOENT, "%s not found in %s", name, HV_TOOL_PATH);
}

int hv_run_env(char *const argv[], char *const envp[], char *out, size_t outsz,
	       struct vj_err *err)
{
	char prog[PATH_MAX];
	if (envp && tool_path(argv[0], prog, sizeof(prog), err))
		return -1;
	/* stdout goes to an anonymous file read back after the exit: no second
	 * pipe to poll, and the tool never blocks on a full pipe. */
	cleanup_close int outfd = -1;
	if (out) {
		if (outsz == 0)
			return vj_err_set(err, EINVAL, "no room for the output of %s", argv[0]);
		outfd = memfd_create("hv-tool-stdout", MFD_CLOEXEC);
		if (outfd < 0)
			return vj_err_sys(err, errno, "memfd_create for %s", argv[0]);
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vj_err_sys(err, errno, "pipe");
	cleanup_close int rd = pipefd[0];
	cleanup_close int wr = pipefd[1];
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork for %s", argv[0]);
	if (pid == 0) {
		/* Only async-signal-safe calls here: hvd is multithreaded. */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (outfd >= 0)
			dup2(outfd, 1);
		dup2(wr, 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (envp)
			execve(prog, argv, envp);
		else
			execvp(argv[0], argv);
		static const char msg[] = "cannot execute the program\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	vj_close_now(&wr);
	char errbuf[4096];
	size_t used = 0;
	for (;;) {
		char chunk[1024];
		ssize_t n = read(rd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep the tail: the last line is the one that explains. */
		if (used + (size_t)n >= sizeof(errbuf)) {
			size_t drop = used + (size_t)n - (sizeof(errbuf) - 1);
			if (drop > used)
				drop = used;
			memmove(errbuf, errbuf + drop, used - drop);
			used -= drop;
		}
		size_t take = (size_t)n < sizeof(errbuf) - 1 - used ? (size_t)n : sizeof(errbuf) - 1 - used;
		memcpy(errbuf + used, chunk + (size_t)n - take, take);
		used += take;
	}
	errbuf[used] = '\0';
	vj_close_now(&rd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vj_err_sys(err, errno, "waitpid for %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return outfd >= 0 ? read_back(outfd, argv[0], out, outsz, err) : 0;
	const char *why = last_line(errbuf);
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
	cleanup_close int rd = pipefd[0];
	cleanup_close int wr = pipefd[1];
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork for %s", argv[0]);
	if (pid == 0) {
		setpgid(0, 0); /* so a timeout kills everything it started */
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(wr, 1);
		dup2(wr, 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	vj_close_now(&wr);
	size_t used = 0;
	out[0] = '\0';
	int found = 0;
	long long deadline = hv_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - hv_now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = rd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		char chunk[1024];
		ssize_t n = read(rd, chunk, sizeof(chunk));
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
	vj_close_now(&rd);
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

/* Everything is prepared before fork: hvd is multithreaded, so the child
 * only calls async-signal-safe functions. */
pid_t hv_spawn_logged(char *const argv[], const char *log, struct vj_err *err)
{
	cleanup_close int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0)
		return vj_err_sys(err, errno, "cannot open %s", log);
	cleanup_close int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0)
		return vj_err_sys(err, errno, "cannot open /dev/null");
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3, ~0U, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return vj_err_sys(err, errno, "cannot start %s", argv[0]);
	return pid;
}
