/* Small filesystem helpers for hvd's own directories. */
#ifndef HV_FSUTIL_H
#define HV_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p with mode for every component created; existing ones are kept. */
int hv_mkdir_p(const char *path, mode_t mode, struct vj_err *err);
/* Remove the regular files/sockets directly inside dir, then dir itself.
 * Non-recursive on purpose: hvd never puts subdirectories in a VM's dirs,
 * and a symlink planted there is unlinked, never followed. ENOENT is fine. */
int hv_rmdir_flat(const char *dir, struct vj_err *err);
/* Is path absolute and free of "." and ".." components (so a prefix test
 * on it means what it says)? */
bool hv_path_plain(const char *path);
/* Is the plain path prefix itself or below it (trailing slashes of prefix
 * ignored; "/" holds everything)? */
bool hv_path_under(const char *path, const char *prefix);
/* Is pid gone (no such process, or a zombie nobody reaped yet)? For
 * processes hvd did not start (an earlier hvd's), which it cannot wait for. */
bool hv_pid_gone(pid_t pid);
/* Milliseconds on the monotonic clock. */
long long hv_now_ms(void);

/* snprintf for paths: -1 (and an empty string) if the result does not fit,
 * so a truncated path is never used. */
int hv_path(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The last non-empty line of a log another program wrote (a guest console,
 * a gateway server), control characters replaced by '?', for one-line
 * errors. "" if unreadable or empty. */
void hv_file_last_line(const char *path, char *out, size_t outsz);
#endif
