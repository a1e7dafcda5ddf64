#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool use_stderr = true;
static int level = LOG_INFO;
static const char *ident = "hvd";

void hv_log_init(bool to_stderr, int max_level)
{
	use_stderr = to_stderr;
	level = max_level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void hv_log_name(const char *name)
{
	ident = name;
}

void hv_log_set_level(int max_level)
{
	level = max_level;
}

int hv_log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int prio;
	} names[] = {{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO},
		     {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].prio;
	return -1;
}

void hv_log(int prio, const char *fmt, ...)
{
	if (prio > level)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!use_stderr) {
		syslog(prio, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	static const char *tag[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	/* One fprintf per line: stdio locks the stream, so threads never interleave. */
	fprintf(stderr, "%s.%03ld %s %s: %s\n", stamp, ts.tv_nsec / 1000000, ident, tag[prio & 7],
		line);
}
