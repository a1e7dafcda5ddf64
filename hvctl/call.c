/* hvctl's one request path and its one failure report (hvctl.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "hvctl.h"
#include "hvdclient.h"
#include "paths.h"

const char *hvctl_socket = VJ_DEFAULT_SOCKET;

int hvctl_call(uint16_t type, const struct vj_kvbuf *kv, int timeout_ms, struct vj_frame *reply)
{
	struct vj_err err = {0};
	if (vj_hvd_call(hvctl_socket, type, kv, timeout_ms, reply, &err) < 0) {
		fprintf(stderr, "hvctl: %s\n", err.msg);
		return -1;
	}
	return 0;
}

void hvctl_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hvctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void hvctl_usage_error(const char *verb, const char *fmt, ...)
{
	char msg[512], prog[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prog, sizeof(prog), "hvctl %s", verb);
	vj_cli_usage_error(prog, "%s", msg);
}
