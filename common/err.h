/* Error objects carried up the stack: the lowest layer says what failed,
 * each caller on the way up may prefix its context, and the edge (a daemon's
 * reply, the plugin's slurm_error, a CLI's stderr) reports it once. */
#ifndef VJ_ERR_H
#define VJ_ERR_H

#include <stddef.h>

struct vj_err {
	int code;        /* errno-like, 0 = no error */
	char msg[1024];  /* one human line, no trailing newline */
};

/* Set err (if not NULL) and return -1, so callers can `return vj_err_set(...)`. */
int vj_err_set(struct vj_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like vj_err_set, appending ": strerror(code)". */
int vj_err_sys(struct vj_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "context: " to an existing message; returns -1. */
int vj_err_prefix(struct vj_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vj_err_clear(struct vj_err *err);

#endif
