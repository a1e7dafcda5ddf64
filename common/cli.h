/* The command-line conventions every vmjob program follows (GNU's): --help
 * and --version print to stdout and exit 0; a wrong option or argument is
 * one line on stderr that names it and points to --help, exit 2. Programs
 * parse with getopt_long and a leading ':' in their short options (so a
 * missing argument is told apart from an unknown option), opterr = 0. */
#ifndef VJ_CLI_H
#define VJ_CLI_H

/* The exit status of a usage error. */
#define VJ_EXIT_USAGE 2

/* "PROG (vmjob) VERSION" on stdout. */
void vj_cli_version(const char *prog);

/* After getopt_long returned '?' or ':' (c): one line, exit 2. */
void vj_cli_bad_option(const char *prog, int c, char **argv) __attribute__((noreturn));

/* Any other usage error: "PROG: MESSAGE (see 'PROG --help')", exit 2. */
void vj_cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
