/* See cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

void vj_cli_version(const char *prog)
{
	printf("%s (vmjob) %s\n", prog, VJ_VERSION);
}

void vj_cli_bad_option(const char *prog, int c, char **argv)
{
	/* A long option is named by the argument getopt just stepped over
	 * (optopt is 0, or its val); a short one by optopt (the argument may
	 * be a cluster such as -fx). */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = arg[0] == '-' && arg[1] == '-';
	if (c == ':') {
		if (is_long || !optopt)
			vj_cli_usage_error(prog, "option '%s' needs an argument", arg);
		vj_cli_usage_error(prog, "option '-%c' needs an argument", optopt);
	}
	if (is_long || !optopt)
		vj_cli_usage_error(prog, "unknown option '%s'", arg);
	vj_cli_usage_error(prog, "unknown option '-%c'", optopt);
}

void vj_cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	exit(VJ_EXIT_USAGE);
}
