/* hvd's logging: timestamped lines on stderr in the foreground, syslog when
 * daemonized. Levels are syslog priorities so both sinks share one filter. */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdbool.h>
#include <syslog.h>

void hv_log_init(bool to_stderr, int max_level);
void hv_log_set_level(int max_level);
/* The program's name in each line (default "hvd"; vmrelay sets its own),
 * before hv_log_init. name must outlive the program. */
void hv_log_name(const char *name);
/* "error", "warning", "info", "debug" -> LOG_*; -1 if unknown. */
int hv_log_level_parse(const char *name);
void hv_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hv_err(...) hv_log(LOG_ERR, __VA_ARGS__)
#define hv_warn(...) hv_log(LOG_WARNING, __VA_ARGS__)
#define hv_info(...) hv_log(LOG_INFO, __VA_ARGS__)
#define hv_debug(...) hv_log(LOG_DEBUG, __VA_ARGS__)

#endif
