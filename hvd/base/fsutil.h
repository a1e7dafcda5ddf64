/* Small filesystem helpers for hvd's own directories. */
#ifndef HV_FSUTIL_H
#define HV_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p with mode for every component created; existing ones are kept. */
int hv_mkdir_p(const char *path, mode_t mode, struct vj_err *err);
/* Remove the regular files/sockets directly inside dir, then dir itself.
 * Non-recursive on purpose: hvd never puts subdirectories in a VM's dirs,
 * and a symlink planted there is unlinked, never followed. ENOENT is fine. */
int hv_rmdir_flat(const char *dir, struct vj_err *err);
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
