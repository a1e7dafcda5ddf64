/* hvctl exec [-t] [-C DIR] [-e K=V]... JOB -- CMD [ARG]...: run CMD in the VM
 * of JOB as the caller and relay it (client/hvdexec.h, the relay vmexec
 * uses). Exit status: the command's, 128+N if it was killed by N; 1 if it
 * did not run (one `hvctl:` line), 2 for a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "hvctl.h"
#include "hvdexec.h"

#define MAX_ENV 256

int hvctl_exec_main(int argc, char **argv)
{
	bool pty = false;
	const char *cwd = NULL;
	char *envs[MAX_ENV + 2]; /* the -e ones, TERM, NULL */
	size_t nenv = 0;
	static const struct option lo[] = {
		{"tty", no_argument, 0, 't'}, {"directory", required_argument, 0, 'C'},
		{"env", required_argument, 0, 'e'}, {0, 0, 0, 0},
	};
	int o;
	optind = 0; /* 0, not 1: glibc starts afresh (main parsed with "+", which would stick) */
	while ((o = getopt_long(argc, argv, "+:tC:e:", lo, NULL)) != -1) {
		switch (o) {
		case 't': pty = true; break;
		case 'C': cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				hvctl_usage_error("exec", "-e wants K=V, not '%s'", optarg);
			if (nenv == MAX_ENV)
				hvctl_die("exec: too many -e options");
			envs[nenv++] = optarg;
			break;
		default: vj_cli_bad_option("hvctl exec", o, argv);
		}
	}
	const char *job = hvctl_need_job(argc, argv, optind, "exec");
	int i = optind + 1;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		hvctl_usage_error("exec", "missing the command (hvctl exec JOB -- CMD ...)");
	/* The guest's terminal is ours: its programs need our TERM. */
	cleanup_free char *term = NULL;
	const char *t = getenv("TERM");
	if (pty && t && asprintf(&term, "TERM=%s", t) >= 0)
		envs[nenv++] = term;
	envs[nenv] = NULL;

	struct vj_err err = {0};
	/* Before the request: a ^C or a SIGWINCH while it starts is kept for
	 * the command, not lost. */
	cleanup_close int sfd = vj_exec_signals(&err);
	if (sfd < 0)
		hvctl_die("%s", err.msg);
	struct vj_exec_req rq = {
		.job = job, .cwd = cwd, .args = argv + i, .env = envs, .pty = pty,
		.rows = 24, .cols = 80,
	};
	if (pty)
		vj_tty_size(STDIN_FILENO, &rq.rows, &rq.cols);
	cleanup_close int sock = -1;
	{
		cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
		if (vj_exec_request(&rq, &kv, &err) < 0)
			hvctl_die("%s", err.msg);
		sock = vj_exec_start(hvctl_socket, &kv, &err);
		if (sock < 0)
			hvctl_die("%s", err.msg);
	}
	/* Best effort: without a local terminal there is no line discipline
	 * to get out of the way. */
	if (pty && isatty(STDIN_FILENO))
		vj_tty_raw(STDIN_FILENO, NULL);

	struct vj_exec_io io = VJ_EXEC_STDIO;
	io.pty = pty;
	struct vj_exec_status st;
	int rc = vj_exec_relay(sock, sfd, &io, &st, &err);
	vj_tty_restore();
	if (rc < 0)
		hvctl_die("%s", err.msg);
	return vj_exec_shell_status(&st);
}
