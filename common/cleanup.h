/* Scope-bound cleanup (the crun idiom): a variable declared with one of these
 * is released when it goes out of scope, so error paths cannot leak. */
#ifndef VJ_CLEANUP_H
#define VJ_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vj_freep(void *p)
{
	free(*(void **)p);
}
static inline void vj_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define cleanup_free __attribute__((cleanup(vj_freep)))
#define cleanup_close __attribute__((cleanup(vj_closep)))

/* Hand ownership out of a cleanup_* variable. */
#define vj_steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define vj_steal_fd(fd) ({ int _t = (fd); (fd) = -1; _t; })

#endif
