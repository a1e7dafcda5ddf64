/* The last VM starts that failed, with why, for `hvctl status JOB` after
 * the job itself is gone or failed: an admin asked about a FAILED job sees
 * the reason hvd gave it. Bounded (HV_STARTFAIL_KEEP, oldest dropped). */
#ifndef HV_STARTFAIL_H
#define HV_STARTFAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HV_STARTFAIL_KEEP 64

void hv_startfail_note(const char *job, uid_t uid, const char *why);
/* The job's VM started after all (a retried CREATE): its failures are old news. */
void hv_startfail_forget(const char *job);
/* The newest failure of job, if any (and viewer may see it: root or
 * privileged, or the job's owner): "its start failed N s ago: WHY". */
bool hv_startfail_get(const char *job, uid_t viewer, bool privileged, char *out, size_t sz);

#endif
