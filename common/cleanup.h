/* Scope-bound cleanup (the crun idiom): a variable declared with one of these
 * is released when it goes out of scope, so error paths cannot leak. A
 * function that owns a resource declares it with one of these where it gets
 * it and hands it on with vj_steal_ptr / vj_steal_fd (docs/conventions.md). */
#ifndef VJ_CLEANUP_H
#define VJ_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kv.h"

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
/* Close a cleanup_close fd before its scope ends (a pipe end the child
 * holds now), so the cleanup does not close it, or a reused number, again. */
static inline void vj_close_now(int *fd)
{
	vj_closep(fd);
	*fd = -1;
}
static inline void vj_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}
static inline void vj_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void vj_kv_freep(struct vj_kvbuf *b)
{
	vj_kv_free(b);
}
static inline void vj_strv_freep(char ***v)
{
	vj_strv_free(*v);
}
#define cleanup_free __attribute__((cleanup(vj_freep)))
#define cleanup_close __attribute__((cleanup(vj_closep)))
#define cleanup_fclose __attribute__((cleanup(vj_fclosep)))
#define cleanup_closedir __attribute__((cleanup(vj_closedirp)))
/* A vj_kvbuf (kv.h) that must be vj_kv_init()ed before any return. */
#define cleanup_kv __attribute__((cleanup(vj_kv_freep)))
#define cleanup_strv __attribute__((cleanup(vj_strv_freep)))

/* Hand ownership out of a cleanup_* variable. */
#define vj_steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define vj_steal_fd(fd) ({ int _t = (fd); (fd) = -1; _t; })

#endif
