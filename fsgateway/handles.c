/* The inode and file-handle tables. Nothing the guest sends is ever used as
 * a pointer or an fd number: it is split into index and generation and
 * checked against a slot here. Slots live in fixed chunks so a pointer to
 * one stays valid while the table grows during the same request. */
#include "fsgw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

#define CHUNK 1024u
#define MAX_CHUNKS 4096u        /* 4 M slots: far beyond any fd limit */
#define ROOT_INDEX 1u

struct fsgw_table {
	size_t elem;
	uint32_t cap;        /* slots allocated */
	uint32_t free_head;  /* 0 = none */
	void *chunks[MAX_CHUNKS];
};

static void *slot(struct fsgw_table *t, uint32_t i)
{
	return (char *)t->chunks[i / CHUNK] + (size_t)(i % CHUNK) * t->elem;
}

static int grow(struct fsgw_table *t)
{
	if (t->cap / CHUNK >= MAX_CHUNKS) {
		errno = ENFILE;
		return -1;
	}
	void *c = calloc(CHUNK, t->elem);
	if (!c)
		return -1;
	t->chunks[t->cap / CHUNK] = c;
	t->cap += CHUNK;
	return 0;
}

static uint32_t split(uint64_t id, uint32_t *gen)
{
	*gen = (uint32_t)(id >> 32);
	return (uint32_t)id;
}

static uint32_t bucket(const struct fsgw *g, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(h >> 32) & (g->nbuckets - 1);
}

/* Free slots are chained through hnext (inodes) / next_free (handles); a
 * fresh chunk is pushed onto the list highest index first. */
static uint32_t inode_alloc(struct fsgw *g)
{
	struct fsgw_table *t = g->inodes;
	if (!t->free_head) {
		uint32_t first = t->cap;
		if (grow(t) < 0)
			return 0;
		for (uint32_t i = t->cap; i-- > first;) {
			struct fsgw_inode *in = slot(t, i);
			in->fd = -1;
			in->gen = 1;
			if (i == 0 || i == ROOT_INDEX)
				continue;
			in->hnext = t->free_head;
			t->free_head = i;
		}
	}
	uint32_t i = t->free_head;
	struct fsgw_inode *in = slot(t, i);
	t->free_head = in->hnext;
	return i;
}

int fsgw_tables_init(struct fsgw *g, int root_fd, struct vj_err *err)
{
	cleanup_close int fd = root_fd; /* ours from here, kept in the root inode */
	g->nbuckets = 1u << 16;
	g->hash = calloc(g->nbuckets, sizeof(*g->hash));
	g->inodes = calloc(1, sizeof(*g->inodes));
	g->fhs = calloc(1, sizeof(*g->fhs));
	if (!g->hash || !g->inodes || !g->fhs)
		return vj_err_sys(err, ENOMEM, "allocating the inode tables");
	g->inodes->elem = sizeof(struct fsgw_inode);
	g->fhs->elem = sizeof(struct fsgw_fh);
	struct stat st;
	if (fsgw_stat(fd, &st) < 0)
		return vj_err_sys(err, errno, "stat of the export root");
	if (inode_alloc(g) == 0)  /* makes chunk 0, which holds the root slot */
		return vj_err_sys(err, errno, "allocating the inode tables");
	struct fsgw_inode *root = slot(g->inodes, ROOT_INDEX);
	*root = (struct fsgw_inode){ .fd = vj_steal_fd(fd), .gen = 0, .type = st.st_mode & S_IFMT,
				     .dev = st.st_dev, .ino = st.st_ino, .nlookup = 1 };
	uint32_t b = bucket(g, st.st_dev, st.st_ino);
	root->hnext = g->hash[b];
	g->hash[b] = ROOT_INDEX;
	/* inode_alloc handed out one slot we did not use: give it back. */
	struct fsgw_inode *spare = slot(g->inodes, 2);
	spare->hnext = g->inodes->free_head;
	g->inodes->free_head = 2;
	return 0;
}

struct fsgw_inode *fsgw_inode_get(struct fsgw *g, fuse_ino_t nodeid)
{
	uint32_t gen, i = split(nodeid, &gen);
	if (i == 0 || i >= g->inodes->cap) {
		errno = ESTALE;
		return NULL;
	}
	struct fsgw_inode *in = slot(g->inodes, i);
	if (in->fd < 0 || in->gen != gen) {
		errno = ESTALE;
		return NULL;
	}
	return in;
}

struct fsgw_inode *fsgw_dir_get(struct fsgw *g, fuse_ino_t nodeid)
{
	struct fsgw_inode *in = fsgw_inode_get(g, nodeid);
	if (in && !S_ISDIR(in->type)) {
		errno = ENOTDIR;
		return NULL;
	}
	return in;
}

fuse_ino_t fsgw_inode_ref(struct fsgw *g, int fd, const struct stat *st)
{
	uint32_t b = bucket(g, st->st_dev, st->st_ino);
	for (uint32_t i = g->hash[b]; i; ) {
		struct fsgw_inode *in = slot(g->inodes, i);
		if (in->dev == st->st_dev && in->ino == st->st_ino) {
			close(fd);  /* already known: keep the fd we have */
			in->nlookup++;
			return (uint64_t)in->gen << 32 | i;
		}
		i = in->hnext;
	}
	uint32_t i = inode_alloc(g);
	if (!i) {
		int e = errno;
		close(fd);
		errno = e;
		return 0;
	}
	struct fsgw_inode *in = slot(g->inodes, i);
	in->fd = fd;
	in->type = st->st_mode & S_IFMT;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->nlookup = 1;
	in->hnext = g->hash[b];
	g->hash[b] = i;
	return (uint64_t)in->gen << 32 | i;
}

void fsgw_inode_forget(struct fsgw *g, fuse_ino_t nodeid, uint64_t n)
{
	struct fsgw_inode *in = fsgw_inode_get(g, nodeid);
	uint32_t gen, i = split(nodeid, &gen);
	if (!in || i == ROOT_INDEX)
		return;  /* unknown or root: the root lives as long as we do */
	in->nlookup -= n < in->nlookup ? n : in->nlookup;
	if (in->nlookup)
		return;
	uint32_t *pp = &g->hash[bucket(g, in->dev, in->ino)];
	while (*pp != i)
		pp = &((struct fsgw_inode *)slot(g->inodes, *pp))->hnext;
	*pp = in->hnext;
	close(in->fd);
	in->fd = -1;
	if (++in->gen == 0)
		in->gen = 1;
	in->hnext = g->inodes->free_head;
	g->inodes->free_head = i;
}

uint64_t fsgw_fh_new(struct fsgw *g, int fd, DIR *dir)
{
	struct fsgw_table *t = g->fhs;
	if (!t->free_head) {
		uint32_t first = t->cap;
		if (grow(t) < 0)
			return 0;
		for (uint32_t i = t->cap; i-- > first;) {
			struct fsgw_fh *f = slot(t, i);
			f->gen = 1;
			f->fd = -1;
			if (i == 0)
				continue;
			f->next_free = t->free_head;
			t->free_head = i;
		}
	}
	uint32_t i = t->free_head;
	struct fsgw_fh *f = slot(t, i);
	t->free_head = f->next_free;
	f->kind = dir ? FH_DIR : FH_FILE;
	f->fd = fd;
	f->dir = dir;
	f->dir_off = 0;
	f->pending = NULL;
	return (uint64_t)f->gen << 32 | i;
}

struct fsgw_fh *fsgw_fh_get(struct fsgw *g, uint64_t fh, enum fsgw_fh_kind kind)
{
	uint32_t gen, i = split(fh, &gen);
	if (i == 0 || i >= g->fhs->cap) {
		errno = EBADF;
		return NULL;
	}
	struct fsgw_fh *f = slot(g->fhs, i);
	if (f->kind != kind || f->gen != gen) {
		errno = EBADF;
		return NULL;
	}
	return f;
}

static void fh_release(struct fsgw *g, uint32_t i)
{
	struct fsgw_fh *f = slot(g->fhs, i);
	if (f->dir)
		closedir(f->dir);  /* also closes f->fd */
	else
		close(f->fd);
	f->kind = FH_FREE;
	f->dir = NULL;
	f->fd = -1;
	if (++f->gen == 0)
		f->gen = 1;
	f->next_free = g->fhs->free_head;
	g->fhs->free_head = i;
}

void fsgw_fh_free(struct fsgw *g, uint64_t fh)
{
	struct fsgw_fh *f = fsgw_fh_get(g, fh, FH_FILE);
	if (!f)
		f = fsgw_fh_get(g, fh, FH_DIR);
	if (f)
		fh_release(g, (uint32_t)fh);
}

void fsgw_tables_free(struct fsgw *g)
{
	if (g->fhs) {
		for (uint32_t i = 1; i < g->fhs->cap; i++)
			if (((struct fsgw_fh *)slot(g->fhs, i))->kind != FH_FREE)
				fh_release(g, i);
		for (uint32_t c = 0; c < g->fhs->cap / CHUNK; c++)
			free(g->fhs->chunks[c]);
	}
	if (g->inodes) {
		for (uint32_t i = 1; i < g->inodes->cap; i++) {
			struct fsgw_inode *in = slot(g->inodes, i);
			if (in->fd >= 0)
				close(in->fd);
		}
		for (uint32_t c = 0; c < g->inodes->cap / CHUNK; c++)
			free(g->inodes->chunks[c]);
	}
	free(g->inodes);
	free(g->fhs);
	free(g->hash);
	g->inodes = g->fhs = NULL;
	g->hash = NULL;
}
