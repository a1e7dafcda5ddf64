/* Run an external tool (qemu-img, mkfs.ext4, the probe's qemu) with
 * fork/execvp, never through a shell: arguments carry paths and values that
 * came from requests and the catalogue. */
#ifndef HV_SPAWN_H
#define HV_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Run argv to completion with stdin/stdout on /dev/null. Fails with the
 * tool's last stderr line in err if it cannot run or exits non-zero. */
int hv_run(char *const argv[], struct vj_err *err);

/* Where hv_run_env looks for a tool named without a '/': fixed, so a root
 * daemon never runs what an inherited PATH happens to point at. */
#define HV_TOOL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* hv_run with exactly envp as the tool's environment (argv[0] found in
 * HV_TOOL_PATH) and, if out is not NULL, its stdout captured into out[outsz]
 * (NUL-terminated; output that does not fit is an error). envp NULL keeps
 * hvd's environment and PATH, as hv_run does. */
int hv_run_env(char *const argv[], char *const envp[], char *out, size_t outsz,
	       struct vj_err *err);

/* Run argv with stdout+stderr captured into out[outsz] (NUL-terminated, the
 * first bytes kept). Stops early, killing the process group, once marker
 * (if not NULL) appears in the output or after timeout_ms. Returns 1 if the
 * marker was seen, 0 if the program ended (exit status in *status) or
 * timed out (*status = -1), -1 if it could not run. */
int hv_run_capture(char *const argv[], char *out, size_t outsz, int timeout_ms,
		   const char *marker, int *status, struct vj_err *err);

/* Start argv (an absolute path) in the background with stdin on /dev/null and
 * stdout+stderr appended to log (created 0600). No other hvd fd survives into
 * it: it may go on to serve a hostile guest. The caller reaps the pid. */
pid_t hv_spawn_logged(char *const argv[], const char *log, struct vj_err *err);

#endif
