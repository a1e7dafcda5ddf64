#include "drain.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "base/fsutil.h"
#include "base/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool drained;
static char why[256];

static void flag_path(const struct hv_config *cfg, char *out, size_t sz)
{
	hv_path(out, sz, "%s/drained", cfg->state_dir);
}

void hv_drain_load(const struct hv_config *cfg)
{
	char path[PATH_MAX];
	flag_path(cfg, path, sizeof(path));
	FILE *f = fopen(path, "re");
	pthread_mutex_lock(&lock);
	drained = f != NULL;
	why[0] = '\0';
	if (f) {
		if (fgets(why, sizeof(why), f))
			why[strcspn(why, "\n")] = '\0';
		fclose(f);
	}
	pthread_mutex_unlock(&lock);
	if (drained)
		hv_info("host is drained (%s): new VMs are refused until 'hvctl resume'",
			why[0] ? why : "no reason given");
}

int hv_drain_set(const struct hv_config *cfg, const char *reason, struct vj_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	flag_path(cfg, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* One line, no control characters: it is echoed in refusals. */
	char line[256];
	snprintf(line, sizeof(line), "%s", reason);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot write %s", tmp);
	size_t n = strlen(line);
	line[n] = '\n';
	int rc = vj_write_all(fd, line, n + 1, err);
	line[n] = '\0';
	if (rc == 0 && fsync(fd) < 0)
		rc = vj_err_sys(err, errno, "fsync");
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = vj_err_sys(err, errno, "rename to %s", path);
	if (rc) {
		unlink(tmp);
		return vj_err_prefix(err, "cannot write %s", path);
	}
	pthread_mutex_lock(&lock);
	drained = true;
	snprintf(why, sizeof(why), "%s", line);
	pthread_mutex_unlock(&lock);
	hv_info("host drained (%s): new VMs are refused", line[0] ? line : "no reason given");
	return 0;
}

int hv_drain_clear(const struct hv_config *cfg, struct vj_err *err)
{
	char path[PATH_MAX];
	flag_path(cfg, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return vj_err_sys(err, errno, "cannot remove %s", path);
	pthread_mutex_lock(&lock);
	bool was = drained;
	drained = false;
	why[0] = '\0';
	pthread_mutex_unlock(&lock);
	if (was)
		hv_info("host resumed: new VMs are accepted again");
	return 0;
}

bool hv_drained(char *reason, size_t sz)
{
	pthread_mutex_lock(&lock);
	bool d = drained;
	if (reason && sz)
		snprintf(reason, sz, "%s", why);
	pthread_mutex_unlock(&lock);
	return d;
}
