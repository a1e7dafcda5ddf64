/* vmfs-server: the per-VM filesystem gateway. One process per exported tree
 * and VM, running as the job owner, serving FUSE requests that arrive over
 * the VM's virtio-serial channel. Single-threaded on purpose: the tables
 * below need no locks, and one slow host call delays only this VM's mount. */
#ifndef FSGW_H
#define FSGW_H

#define FUSE_USE_VERSION 34
#include <dirent.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"
#include <sys/resource.h>
#include "validate.h"

/* One host object the guest holds a reference to. nodeid = gen<<32 | index
 * (root: index 1, gen 0, so nodeid 1): a guest can name only slots we
 * handed out, and a stale nodeid after reuse fails the generation check. */
struct fsgw_inode {
	int fd;           /* O_PATH|O_NOFOLLOW, -1 when the slot is free */
	uint32_t gen;
	mode_t type;      /* S_IFMT bits: pinned by the fd, never changes */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup; /* our own count; the guest's FORGETs only lower it */
	uint32_t hnext;   /* (dev, ino) hash chain, or free-list link */
};

enum fsgw_fh_kind { FH_FREE, FH_FILE, FH_DIR };
struct fsgw_fh {
	uint8_t kind;
	uint32_t gen;
	uint32_t next_free;
	int fd;
	DIR *dir;
	off_t dir_off;            /* where the DIR stream stands */
	struct dirent *pending;   /* entry read but not yet sent */
};

struct fsgw_table;  /* chunked slot arrays (handles.c) */

/* The most one READ returns: the request ceiling less its headers' page. */
#define FSGW_MAX_READ (FSGW_MAX_MSG - 4096u)

/* channel_io.c: framing + validation in front of libfuse. */
struct fsgw_chan {
	int wfd;              /* replies we make ourselves go here */
	struct fsgw_vstate v;
	uint64_t refused;     /* requests answered without libfuse */
	uint32_t last_refused; /* opcode of the last one, for the log */
	struct fsgw_vqio *vq;  /* virtio-fs transport (vq_io.c), NULL on serial */
};

struct fsgw {
	int proc_fd;       /* /proc/self/fd, to reopen O_PATH fds */
	uid_t uid;
	gid_t gid;
	double timeout;    /* entry/attr cache seconds in the guest */
	struct fsgw_table *inodes;
	struct fsgw_table *fhs;
	uint32_t *hash;    /* buckets of inode indexes */
	uint32_t nbuckets;
	struct fsgw_chan chan;
	char *rbuf;        /* FSGW_MAX_READ bytes: every READ's data */
};

/* handles.c */
int fsgw_tables_init(struct fsgw *g, int root_fd, struct vj_err *err);
void fsgw_tables_free(struct fsgw *g);
struct fsgw_inode *fsgw_inode_get(struct fsgw *g, fuse_ino_t nodeid);
/* Take ownership of fd (O_PATH) for the object st describes; returns its
 * nodeid with one more lookup, or 0 with errno set (fd closed either way). */
fuse_ino_t fsgw_inode_ref(struct fsgw *g, int fd, const struct stat *st);
void fsgw_inode_forget(struct fsgw *g, fuse_ino_t nodeid, uint64_t n);
uint64_t fsgw_fh_new(struct fsgw *g, int fd, DIR *dir);  /* 0 + errno on failure */
struct fsgw_fh *fsgw_fh_get(struct fsgw *g, uint64_t fh, enum fsgw_fh_kind kind);
void fsgw_fh_free(struct fsgw *g, uint64_t fh);

/* ops_*.c fill in the libfuse operation table. */
void fsgw_ops_entry(struct fuse_lowlevel_ops *ops);
void fsgw_ops_dir(struct fuse_lowlevel_ops *ops);
void fsgw_ops_file(struct fuse_lowlevel_ops *ops);
void fsgw_ops_xattr(struct fuse_lowlevel_ops *ops);

/* ops_common.c: helpers every op uses. */
static inline struct fsgw *fsgw_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}
/* Reopen an inode's O_PATH fd with real access flags (via /proc/self/fd:
 * the fd pins the object, so this cannot be redirected by a rename). */
int fsgw_reopen(struct fsgw *g, const struct fsgw_inode *in, int flags);
/* Look name up under parent and fill e (one new lookup reference). */
int fsgw_do_lookup(struct fsgw *g, fuse_ino_t parent, const char *name,
		   struct fuse_entry_param *e);
int fsgw_stat(int fd, struct stat *st);
/* Open name under the directory parent, confined (see ops_common.c). */
int fsgw_open_beneath(struct fsgw *g, fuse_ino_t parent, const char *name,
		      int flags, mode_t mode);
/* Mode bits the guest may set on the host: never setuid/setgid. */
static inline mode_t fsgw_mode(mode_t m)
{
	return m & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX);
}
/* An inode argument that must be a directory; sets errno. */
struct fsgw_inode *fsgw_dir_get(struct fsgw *g, fuse_ino_t nodeid);

/* libfuse passes the session userdata (struct fsgw *) to both. */
ssize_t fsgw_chan_read(int fd, void *buf, size_t len, void *fsgw);
ssize_t fsgw_chan_writev(int fd, struct iovec *iov, int count, void *fsgw);

/* privdrop.c */
struct fsgw_ident {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;   /* -1: take them from the user database */
};
int fsgw_set_fd_limit(rlim_t n, struct vj_err *err);
/* Close every fd from 3 up except keep and keep2 (-1: none). */
int fsgw_keep_fds(int keep, int keep2, struct vj_err *err);
int fsgw_drop_privileges(const struct fsgw_ident *id, struct vj_err *err);

/* vhost_start.c: the virtio-fs transport (--vhost-user). */
struct fsgw_vhost {
	const char *path;   /* the socket QEMU connects to */
	uid_t sock_uid;     /* QEMU's user: owns the socket, the only peer taken */
	gid_t sock_gid;
};
/* Make the socket and split: returns, in the new FUSE server process, the
 * state to serve the queues with (its ctl is the fd to hand libfuse); the
 * caller's process becomes the bridge and exits when QEMU goes. NULL (err
 * set) if it fails before the split. */
struct fsgw_vqio;
struct fsgw_vqio *fsgw_vhost_start(const struct fsgw_vhost *v, const struct fsgw_ident *id,
				   struct vj_err *err);

#endif
