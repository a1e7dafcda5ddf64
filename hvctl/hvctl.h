/* What hvctl's verb files share. */
#ifndef HVCTL_H
#define HVCTL_H

/* "hvctl: MESSAGE" on stderr, exit 1: the one way hvctl reports a failure. */
void hvctl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
