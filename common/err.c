#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(struct vj_err *err, int code, const char *fmt, va_list ap)
{
	err->code = code ? code : -1;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int vj_err_set(struct vj_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int vj_err_sys(struct vj_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
	return -1;
}

int vj_err_prefix(struct vj_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char ctx[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Bounded by hand: the combined line may be cut, never overrun. */
	size_t n = strnlen(ctx, sizeof(ctx) - 1);
	memcpy(err->msg, ctx, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
	if (!err->code)
		err->code = -1;
	return -1;
}

void vj_err_clear(struct vj_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
