/* vmjob-init: PID 1 of a vmjob guest booted the fast way (vmjob.init=vmjob,
 * the default). A worker VM needs no service manager: this runs the guest's
 * setup script once (mounts, hostname, network, the shared trees), then
 * keeps the agent running, respawning it if it dies, and reaps every orphan.
 * SIGTERM, SIGINT (ctrl-alt-del) or SIGUSR2 power the VM off.
 * Images booted with their own init (vmjob.init=image) run the same setup
 * and agent as systemd units instead (vmjob-agent.service). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SETUP "/usr/lib/vmjob/setup"
#define AGENT "/usr/sbin/vmagent"
#define RESPAWN_MIN_MS 1000 /* an agent that dies at once is not restarted in a loop */

static void say(const char *fmt, const char *arg)
{
	dprintf(2, "vmjob-init: ");
	dprintf(2, fmt, arg);
	dprintf(2, "\n");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fork + exec path with the console as stdio and the default signal mask. */
static pid_t start(const char *path, char *const argv[], const sigset_t *orig)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigprocmask(SIG_SETMASK, orig, NULL);
	setsid();
	static char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				    "HOME=/root", "TERM=linux", NULL};
	execve(path, argv, env);
	say("cannot run %s", path);
	_exit(127);
}

/* The console on fds 0-2 (the kernel starts PID 1 with them, usually). */
static void console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			dup2(fd, i);
	close(fd);
}

static void power_off(void)
{
	kill(-1, SIGTERM);
	sleep(1);
	kill(-1, SIGKILL);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	(void)argc;
	if (getpid() != 1) {
		say("%s must run as PID 1 (it is the guest's init)", argv[0]);
		return 2;
	}
	console();
	sigset_t set, orig;
	sigemptyset(&set);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, &orig);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);

	char *const setup_argv[] = {SETUP, NULL};
	pid_t setup = start(SETUP, setup_argv, &orig), agent = -1;
	long long agent_started = 0;
	for (;;) {
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == setup) {
				setup = -1;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					say("%s failed; starting the agent anyway (it reports why)", SETUP);
			} else if (pid == agent) {
				agent = -1;
				say("%s ended; restarting it", AGENT);
			}
		}
		if (setup < 0 && agent < 0 && now_ms() - agent_started >= RESPAWN_MIN_MS) {
			char *const agent_argv[] = {AGENT, NULL};
			agent = start(AGENT, agent_argv, &orig);
			agent_started = now_ms();
		}
		struct signalfd_siginfo si;
		/* Wake at least once a second to respawn after the backoff. */
		struct timeval tv = {.tv_sec = 1};
		fd_set rfds;
		FD_ZERO(&rfds);
		FD_SET(sfd, &rfds);
		if (select(sfd + 1, &rfds, NULL, NULL, &tv) > 0 &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGUSR2))
			power_off();
	}
}
