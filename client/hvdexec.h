/* One command run through hvd (REQ_EXEC, docs/internals.md "hvd requests"):
 * build the request, send it, then stand in for the command on this side
 * until it ends: stdio both ways, signals (taken through a signalfd, so
 * nothing runs asynchronously), the window size with a pty, and how it ended.
 * Used by vmexec (every task of a --vm-image job) and `hvctl exec`.
 *
 *   int sfd = vj_exec_signals(&err);          before anything slow
 *   vj_exec_request(&rq, &kv, &err);          + the caller's own fields
 *   int sock = vj_exec_start(path, &kv, &err);
 *   vj_tty_raw(STDIN_FILENO, &err);           with a pty
 *   vj_exec_relay(sock, sfd, &io, &st, &err);
 *   vj_tty_restore();
 */
#ifndef VMJOB_HVDEXEC_H
#define VMJOB_HVDEXEC_H

#include <stdbool.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"

/* The REQ_EXEC fields every client sends. */
struct vj_exec_req {
	const char *job;
	const char *cwd;     /* NULL: the current directory ("/" if it has no name) */
	const char *argv0;   /* if not NULL: the command's argv[0], before args */
	char *const *args;   /* NULL-terminated; may be NULL */
	char *const *env;    /* NULL-terminated K=V; may be NULL */
	bool pty;
	unsigned rows, cols; /* sent with pty only */
	bool hostcmds;       /* we run the guest's host commands (hostcmd.h) */
};

/* Append job, uid, gid (ours), cwd, arg*, env*, pty [rows cols] to kv; the
 * caller may add more (script, group). 0, or -1 with err set (no command,
 * out of memory). */
int vj_exec_request(const struct vj_exec_req *rq, struct vj_kvbuf *kv, struct vj_err *err);

/* Connect to hvd at path and send REQ_EXEC with kv's fields (vj_hvd_send:
 * the credential is added there). The connection, or -1 with err set. */
int vj_exec_start(const char *path, const struct vj_kvbuf *kv, struct vj_err *err);
/* vj_exec_start, waiting up to wait_s seconds for an hvd that cannot be
 * reached (a restart's gap). Only connecting is retried, so a command is
 * never sent twice; once sent, hvd hands it to the VM's relay at once and
 * the connection is the relay's, whatever becomes of hvd. */
int vj_exec_start_wait(const char *path, const struct vj_kvbuf *kv, unsigned wait_s,
		       struct vj_err *err);

/* Block the signals a relay forwards (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2, SIGCONT, SIGALRM) and SIGWINCH, and return a signalfd
 * (non-blocking, close-on-exec) for them: from here on none is lost or
 * fatal. Call it before anything slow. fd, or -1 with err set. */
int vj_exec_signals(struct vj_err *err);

/* Our side of the command. */
struct vj_exec_io {
	int in, out, err; /* its stdin, stdout, stderr here */
	bool pty;         /* SIGWINCH becomes WINSIZE with in's window size */
	void (*started)(void *arg); /* called once, on STARTED; may be NULL */
	void *arg;
	const char *peer; /* who relays, for "lost the connection to ..."; NULL: hvd */
	/* Run the host commands the guest asks for on this stream (vmexec:
	 * hostcmd.h). NULL: none; hvd is told so and refuses them. */
	struct vj_hostcmds *hostcmds;
};
#define VJ_EXEC_STDIO {.in = STDIN_FILENO, .out = STDOUT_FILENO, .err = STDERR_FILENO}

/* How the command ended. */
struct vj_exec_status {
	bool signaled; /* killed by sig (core: it dumped one), else exited with status */
	int status;
	int sig;
	bool core;
	/* The guest's out-of-memory killer killed this many processes while
	 * the command ran (0: none), in a guest of mem_mb MiB. */
	unsigned oom_kills, mem_mb;
};

/* After vj_exec_start: relay until the command ends. Until STARTED, signals
 * are kept (and sent after it, in signal order) and stdin is not read; then
 * stdin goes as STDIN frames (zero length = EOF), signals as SIGNAL,
 * SIGWINCH as WINSIZE (with a pty), STDOUT/STDERR to io->out/err (an output
 * that went away is discarded, not fatal; SIGPIPE is ignored from here on).
 * 0 with *st filled on EXIT; -1 with err set if the command did not run or
 * its end is unknown: hvd's or the agent's ERROR/ERR (VJ_HVD_REFUSED, its
 * message), hvd hung up ("lost the connection to hvd before the command
 * finished", VJ_HVD_UNREACHABLE), a malformed stream ("malformed data from
 * hvd", EPROTO), an EXIT without status or signal (EPROTO). */
int vj_exec_relay(int sock, int sfd, const struct vj_exec_io *io, struct vj_exec_status *st,
		  struct vj_err *err);

/* The shell's convention: the exit status, or 128 + the signal. */
int vj_exec_shell_status(const struct vj_exec_status *st);

/* tty.c: a terminal's size (false if fd is none or says 0x0), raw mode for
 * a pty session and its restore (also at exit; a no-op if nothing is saved). */
bool vj_tty_size(int fd, unsigned *rows, unsigned *cols);
int vj_tty_raw(int fd, struct vj_err *err);
void vj_tty_restore(void);

#endif
