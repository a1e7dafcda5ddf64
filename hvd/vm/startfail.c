#include "startfail.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "names.h"

static struct failure {
	char job[VJ_NAME_SZ];
	uid_t uid;
	time_t when;
	char why[512];
} ring[HV_STARTFAIL_KEEP];
static unsigned next;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void hv_startfail_note(const char *job, uid_t uid, const char *why)
{
	pthread_mutex_lock(&lock);
	struct failure *f = &ring[next++ % HV_STARTFAIL_KEEP];
	snprintf(f->job, sizeof(f->job), "%s", job);
	snprintf(f->why, sizeof(f->why), "%s", why);
	f->uid = uid;
	f->when = time(NULL);
	pthread_mutex_unlock(&lock);
}

bool hv_startfail_get(const char *job, uid_t viewer, bool privileged, char *out, size_t sz)
{
	bool found = false;
	pthread_mutex_lock(&lock);
	for (unsigned k = 1; k <= HV_STARTFAIL_KEEP && !found; k++) {
		const struct failure *f = &ring[(next - k) % HV_STARTFAIL_KEEP];
		if (!f->job[0] || strcmp(f->job, job) || (!privileged && f->uid != viewer))
			continue;
		snprintf(out, sz, "its start failed %lld s ago: %s", (long long)(time(NULL) - f->when),
			 f->why);
		found = true;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void hv_startfail_forget(const char *job)
{
	pthread_mutex_lock(&lock);
	for (unsigned k = 0; k < HV_STARTFAIL_KEEP; k++)
		if (!strcmp(ring[k].job, job))
			ring[k].job[0] = '\0';
	pthread_mutex_unlock(&lock);
}
