/* hvctl's image verbs (images, pull, evict): the IMAGES, PULL and EVICT
 * requests of docs/internals.md. */
#ifndef HVCTL_IMAGES_H
#define HVCTL_IMAGES_H

#include <stdbool.h>
#include <stdio.h>

/* Lines for hvctl's usage. */
void hvctl_images_usage(FILE *f);
/* True if verb is one of ours. */
bool hvctl_images_verb(const char *verb);
/* argv[0] is the verb. Returns the exit status. */
int hvctl_images_main(int argc, char **argv);

#endif
