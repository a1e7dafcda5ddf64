/* hvctl's host verbs: vms, drain, resume, cpu, metrics (the VMS, DRAIN and
 * RESUME requests of docs/internals.md). */
#ifndef HVCTL_ADMIN_H
#define HVCTL_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

/* Lines for hvctl's usage. */
void hvctl_admin_usage(FILE *f);
/* True if verb is one of ours. */
bool hvctl_admin_verb(const char *verb);
/* argv[0] is the verb. Returns the exit status. */
int hvctl_admin_main(int argc, char **argv);

#endif
