/* INI files (hvd.conf, the image catalogue) read through inih, Debian's
 * libinih, so the grammar of `key = value`, comment lines and `[section]`
 * headers is the library's, not ours.
 *
 * What this layer adds is what both files have always promised and the
 * packaged inih cannot give on its own: a line number with every error,
 * values of up to HV_INI_LINE_MAX bytes (Debian builds inih with a fixed
 * 200-byte line buffer), section names of up to 64 bytes (inih keeps 50),
 * indented lines read as ordinary lines (inih would join them to the value
 * above), and for hvd.conf `#` starting a comment anywhere on a line.
 * A `;` after white space starts a comment in both files (inih's rule). */
#ifndef HV_INI_H
#define HV_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define HV_INI_LINE_MAX 4096 /* longer lines are refused, naming the line */

struct hv_ini {
	bool hash_comments; /* '#' anywhere starts a comment (hvd.conf) */
	/* A `[name]` header, name trimmed; NULL: headers are an error. */
	int (*on_section)(void *u, const char *name, struct vj_err *err);
	/* One `key = value`; section is "" before the first header. */
	int (*on_key)(void *u, const char *section, const char *key, const char *value,
		      struct vj_err *err);
	void *u;
};

/* Parse text (len bytes, no NUL inside). On error returns -1 with err set
 * and *lineno the line at fault; callers prefix their file's name. */
int hv_ini_parse(const char *text, size_t len, const struct hv_ini *p, unsigned *lineno,
		 struct vj_err *err);
/* Read a file of at most max_bytes into memory for hv_ini_parse. */
int hv_ini_read_file(const char *path, size_t max_bytes, char **text, size_t *len,
		     struct vj_err *err);

#endif
