/* hvctl's --json output (jansson): one document per command on stdout, with
 * the schema docs/hvctl-json.md describes. Field names and types there are
 * a promise: scripts parse them; new fields may be added, none renamed. */
#ifndef HVCTL_JSON_H
#define HVCTL_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "frame.h"

/* Print doc (indented, one trailing newline) and release it. The exit
 * status: 0, or 1 (said why) if it could not be built or written. */
int hvctl_json_print(json_t *doc);

/* --json among a verb's arguments: removes it (so the verb's own parsing
 * never sees it) and says whether it was there. */
bool hvctl_json_flag(int *argc, char **argv);

/* A reply's key=value pairs as an object: keys in ints become integers
 * (a value that is not one stays a string), every other key a string.
 * NULL only when out of memory. */
json_t *hvctl_json_from_kv(const struct vj_frame *f, const char *const *ints);

/* "a,b,c" (or "-" for none) as an array of strings. */
json_t *hvctl_json_list(const char *csv);

#endif
