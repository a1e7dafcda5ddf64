/* vmjob-image: turns a root filesystem a site built with its own tools (a
 * directory, a tarball, an OCI image layout) into a vmjob image, and puts
 * vmjob's guest kit (the agent and its boot hooks) into trees built
 * elsewhere. The parts, one file each:
 *   oci.c      which layers an OCI image layout holds (index, manifest, digests)
 *   unpack.c   archives into a tree, confined to it (chroot), OCI whiteouts
 *   tree.c     the staging tree: copy a directory in, check it, size it, remove it
 *   mkimage.c  the ext4 root image and its catalogue entry
 *   main.c     the command line
 * Runs as root: an image's files keep their owners. */
#ifndef VI_IMAGETOOL_H
#define VI_IMAGETOOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "names.h"

/* ---- oci.c ---- */
#define VI_OCI_MAX_LAYERS 256
struct vi_oci_layer {
	char path[4096];         /* the verified blob in the layout */
	char digest[VJ_SHA256_SZ];
	uint64_t size;
};
struct vi_oci_image {
	struct vi_oci_layer *layers; /* bottom first */
	size_t n;
};
/* True if dir holds an OCI image layout (an oci-layout file). */
bool vi_oci_is_layout(const char *dir);
/* The layers of the image ref (a ref.name annotation; NULL: the layout's
 * only image) in layout, every blob checked against its size and digest,
 * the image's platform checked (linux/amd64). */
int vi_oci_resolve(const char *layout, const char *ref, struct vi_oci_image *out,
		   struct vj_err *err);
void vi_oci_free(struct vi_oci_image *img);
/* The parsers behind vi_oci_resolve, on JSON text, for the unit tests. */
struct vi_desc {
	char media_type[128];
	char digest[VJ_SHA256_SZ]; /* hex, after "sha256:" */
	uint64_t size;
};
int vi_oci_pick(const char *index_json, size_t len, const char *ref, struct vi_desc *out,
		bool *nested, struct vj_err *err);
int vi_oci_manifest(const char *json, size_t len, struct vi_desc *config, struct vi_desc *layers,
		    size_t max, size_t *n, struct vj_err *err);
int vi_oci_platform(const char *config_json, size_t len, struct vj_err *err);

/* ---- unpack.c ---- */
enum { VI_WHITEOUTS = 1 }; /* apply OCI whiteouts (.wh.NAME, .wh..wh..opq) */
/* Unpack the tar archive (any compression libarchive reads) at path into
 * tree, as root, confined to tree: the work is done by a child chroot()ed
 * into it, so no name or link in the archive or the tree reaches outside. */
int vi_unpack(const char *tree, const char *path, unsigned flags, struct vj_err *err);

/* ---- tree.c ---- */
/* A new empty staging directory beside out_dir's files. */
int vi_tree_new(const char *out_dir, const char *name, char *tree, size_t n, struct vj_err *err);
/* cp -a of the directory src into tree. */
int vi_tree_copy(const char *src, const char *tree, struct vj_err *err);
/* What a vmjob image needs that the kit does not bring (a POSIX shell). */
int vi_tree_check(const char *tree, struct vj_err *err);
/* Bytes the tree's files take, rounded up to whole blocks. */
int vi_tree_bytes(const char *tree, uint64_t *bytes, struct vj_err *err);
/* rm -rf of tree, never following a link. */
int vi_tree_remove(const char *tree, struct vj_err *err);
/* Run fn(arg) in a child whose stdout and stderr come back here: 0, or -1
 * with the last line the child printed (for fn's own failure, its err) in
 * err and its exit status in *status (-1: it never ran). */
int vi_in_child(int (*fn)(void *arg, struct vj_err *err), void *arg, int *status,
		struct vj_err *err);
/* Run argv (no shell); on failure the last line it printed goes into err. */
int vi_run(char *const argv[], struct vj_err *err);

/* ---- mkimage.c ---- */
struct vi_entry {
	const char *name, *description, *init;
	const char *root;            /* the image file written */
	const char *kernel, *initrd; /* the node kernel and initrd it boots with */
};
/* mkfs.ext4 of tree into path (written as path.new, renamed when done). */
int vi_mkimage(const char *tree, const char *path, struct vj_err *err);
/* The catalogue entry of e on f (file names relative to the catalogue). */
int vi_print_entry(FILE *f, const struct vi_entry *e, struct vj_err *err);
/* The lowercase hex SHA-256 of the file at path. */
int vi_sha256_file(const char *path, char hex[VJ_SHA256_SZ], uint64_t *size, struct vj_err *err);

#endif
