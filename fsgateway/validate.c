#include "validate.h"

#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h> /* RENAME_* */
#include <string.h>

/* How each allowed opcode's body is laid out: a fixed struct of at least
 * `fixed` bytes, then `names` NUL-terminated strings of kind `kind`. Opcodes
 * absent from this table are answered ENOSYS, so libfuse only ever runs the
 * handlers we audited. */
enum name_kind { N_NONE, N_ENTRY, N_ENTRY2, N_SYMLINK, N_XATTR };
struct layout {
	uint8_t allowed;
	uint8_t kind;
	uint8_t no_reply;  /* FORGET-like: the kernel waits for nothing */
	uint16_t fixed;
};

#define OP(code, min, k) [code] = { 1, k, 0, min }
static const struct layout layouts[] = {
	OP(FUSE_LOOKUP, 0, N_ENTRY),
	[FUSE_FORGET] = { 1, N_NONE, 1, sizeof(struct fuse_forget_in) },
	OP(FUSE_GETATTR, sizeof(struct fuse_getattr_in), N_NONE),
	OP(FUSE_SETATTR, sizeof(struct fuse_setattr_in), N_NONE),
	OP(FUSE_READLINK, 0, N_NONE),
	OP(FUSE_SYMLINK, 0, N_SYMLINK),
	OP(FUSE_MKNOD, sizeof(struct fuse_mknod_in), N_ENTRY),
	OP(FUSE_MKDIR, sizeof(struct fuse_mkdir_in), N_ENTRY),
	OP(FUSE_UNLINK, 0, N_ENTRY),
	OP(FUSE_RMDIR, 0, N_ENTRY),
	OP(FUSE_RENAME, sizeof(struct fuse_rename_in), N_ENTRY2),
	OP(FUSE_LINK, sizeof(struct fuse_link_in), N_ENTRY),
	OP(FUSE_OPEN, sizeof(struct fuse_open_in), N_NONE),
	OP(FUSE_READ, sizeof(struct fuse_read_in), N_NONE),
	OP(FUSE_WRITE, sizeof(struct fuse_write_in), N_NONE),
	OP(FUSE_STATFS, 0, N_NONE),
	OP(FUSE_RELEASE, sizeof(struct fuse_release_in), N_NONE),
	OP(FUSE_FSYNC, sizeof(struct fuse_fsync_in), N_NONE),
	/* Without FUSE_SETXATTR_EXT (libfuse 3.14 never asks) the kernel sends
	 * the 8-byte compat struct. */
	OP(FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, N_XATTR),
	OP(FUSE_GETXATTR, sizeof(struct fuse_getxattr_in), N_XATTR),
	OP(FUSE_LISTXATTR, sizeof(struct fuse_getxattr_in), N_NONE),
	OP(FUSE_REMOVEXATTR, 0, N_XATTR),
	OP(FUSE_FLUSH, sizeof(struct fuse_flush_in), N_NONE),
	OP(FUSE_INIT, offsetof(struct fuse_init_in, flags2), N_NONE),
	OP(FUSE_OPENDIR, sizeof(struct fuse_open_in), N_NONE),
	OP(FUSE_READDIR, sizeof(struct fuse_read_in), N_NONE),
	OP(FUSE_RELEASEDIR, sizeof(struct fuse_release_in), N_NONE),
	OP(FUSE_FSYNCDIR, sizeof(struct fuse_fsync_in), N_NONE),
	OP(FUSE_ACCESS, sizeof(struct fuse_access_in), N_NONE),
	OP(FUSE_CREATE, sizeof(struct fuse_create_in), N_ENTRY),
	[FUSE_INTERRUPT] = { 1, N_NONE, 1, sizeof(struct fuse_interrupt_in) },
	OP(FUSE_DESTROY, 0, N_NONE),
	[FUSE_BATCH_FORGET] = { 1, N_NONE, 1, sizeof(struct fuse_batch_forget_in) },
	OP(FUSE_FALLOCATE, sizeof(struct fuse_fallocate_in), N_NONE),
	OP(FUSE_RENAME2, sizeof(struct fuse_rename2_in), N_ENTRY2),
	OP(FUSE_LSEEK, sizeof(struct fuse_lseek_in), N_NONE),
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

bool fsgw_no_reply(uint32_t opcode)
{
	return opcode < NLAYOUTS && layouts[opcode].no_reply;
}

bool fsgw_safe_name(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX || memchr(s, '/', n) || memchr(s, '\0', n))
		return false;
	return !(s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')));
}

/* Take one NUL-terminated string from [*p, end); returns its length or -1. */
static long take_str(const char **p, const char *end)
{
	const char *z = memchr(*p, '\0', (size_t)(end - *p));
	if (!z)
		return -1;
	long n = z - *p;
	*p = z + 1;
	return n;
}

static bool entry_name(const char **p, const char *end)
{
	const char *s = *p;
	long n = take_str(p, end);
	return n >= 0 && fsgw_safe_name(s, (size_t)n);
}

/* Check the strings after the fixed part; they must fill the body exactly,
 * so no opcode carries bytes the handlers would not look at. */
static bool names_ok(int kind, const char *p, const char *end, uint32_t xattr_size)
{
	long n;
	switch (kind) {
	case N_NONE:
		return true;
	case N_ENTRY:
		return entry_name(&p, end) && p == end;
	case N_ENTRY2:
		return entry_name(&p, end) && entry_name(&p, end) && p == end;
	case N_SYMLINK:
		if (!entry_name(&p, end))
			return false;
		n = take_str(&p, end);  /* the target is opaque text for the guest */
		return n > 0 && n < PATH_MAX && p == end;
	case N_XATTR:
		n = take_str(&p, end);
		if (n <= 0 || n > XATTR_NAME_MAX)
			return false;
		return (size_t)(end - p) == xattr_size;
	}
	return false;
}

enum fsgw_verdict fsgw_validate(struct fsgw_vstate *st, void *msg, size_t len, int *err)
{
	struct fuse_in_header *h = msg;
	const char *body = (const char *)msg + sizeof(*h);
	const char *end = (const char *)msg + len;
	size_t blen = len - sizeof(*h);
	const struct layout *l = h->opcode < NLAYOUTS ? &layouts[h->opcode] : NULL;

	/* The guest's claimed identity means nothing on the host: every
	 * access happens as the job owner, so make req->ctx say so too. */
	h->uid = st->uid;
	h->gid = st->gid;
	h->pid = 0;

	if (h->unique == 0)
		return FSGW_DROP;  /* a reply with unique 0 would read as a notification */
	if (!l || !l->allowed) {
		*err = ENOSYS;
		return FSGW_REPLY;
	}
	bool malformed = blen < l->fixed || h->total_extlen != 0;
	if (!malformed) {
		uint32_t xsize = 0;
		if (h->opcode == FUSE_SETXATTR)
			xsize = ((const struct fuse_setxattr_in *)body)->size;
		malformed = !names_ok(l->kind, body + l->fixed, end, xsize);
	}
	if (!malformed && h->opcode == FUSE_WRITE) {
		const struct fuse_write_in *w = (const void *)body;
		malformed = w->size != blen - sizeof(*w);  /* libfuse trusts size */
	}
	if (!malformed && h->opcode == FUSE_BATCH_FORGET) {
		const struct fuse_batch_forget_in *b = (const void *)body;
		malformed = (uint64_t)b->count * sizeof(struct fuse_forget_one) != blen - sizeof(*b);
	}
	if (malformed) {
		if (l->no_reply)
			return FSGW_DROP;
		*err = EINVAL;
		return FSGW_REPLY;
	}

	if (!st->got_init) {
		if (h->opcode != FUSE_INIT) {
			*err = EIO;
			return l->no_reply ? FSGW_DROP : FSGW_REPLY;
		}
		const struct fuse_init_in *in = (const void *)body;
		/* Minor 26+ means every struct above has its full size, so
		 * libfuse never takes its compat paths. INIT_EXT makes libfuse
		 * read flags2, which only the full struct has. */
		if (in->major != FUSE_KERNEL_VERSION || in->minor < 26 ||
		    ((in->flags & FUSE_INIT_EXT) && blen < sizeof(*in))) {
			*err = EPROTO;
			return FSGW_REPLY;
		}
		st->got_init = true;
		return FSGW_PASS;
	}
	if (h->opcode == FUSE_INIT) {
		*err = EPROTO;  /* a second INIT would renegotiate the session */
		return FSGW_REPLY;
	}
	if (h->opcode == FUSE_RENAME2) {
		const struct fuse_rename2_in *r = (const void *)body;
		if (r->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
			*err = EINVAL;
			return FSGW_REPLY;
		}
	}
	return FSGW_PASS;
}
