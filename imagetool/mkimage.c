/* The root image (ext4, made from the tree by mkfs.ext4 -d: no loop mount)
 * and the catalogue entry that names it. */
#include "imagetool.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "cleanup.h"

int vi_sha256_file(const char *path, char hex[VJ_SHA256_SZ], uint64_t *size, struct vj_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vj_err_sys(err, errno, "%s", path);
	cleanup_sha256 struct hv_sha256 *h = hv_sha256_new();
	cleanup_free char *buf = malloc(1 << 20);
	if (!h || !buf)
		return vj_err_set(err, ENOMEM, "out of memory");
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vj_err_sys(err, errno, "reading %s", path);
		if (n == 0)
			break;
		hv_sha256_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	hv_sha256_final(vj_steal_ptr(h), hex);
	if (size)
		*size = total;
	return 0;
}

int vi_mkimage(const char *tree, const char *path, struct vj_err *err)
{
	uint64_t bytes;
	if (vi_tree_bytes(tree, &bytes, err))
		return -1;
	/* Room for the job's writes to the root (they land in the VM's
	 * overlay, but the filesystem must have the space): a quarter more,
	 * at least 256 MiB, as make images sizes its own. */
	uint64_t mb = (bytes >> 20) + 1;
	mb += mb / 4 > 256 ? mb / 4 : 256;
	char tmp[4096], size[32];
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return vj_err_set(err, ENAMETOOLONG, "image path too long");
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)mb);
	unlink(tmp);
	char *argv[] = {"mkfs.ext4", "-q", "-F", "-L", "vmjob-root", "-E", "root_owner=0:0",
			"-T", "small", "-m", "0", "-d", (char *)tree, tmp, size, NULL};
	if (vi_run(argv, err)) {
		unlink(tmp);
		return vj_err_prefix(err, "making the root image");
	}
	if (rename(tmp, path) < 0) {
		vj_err_sys(err, errno, "rename to %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int vi_print_entry(FILE *f, const struct vi_entry *e, struct vj_err *err)
{
	char root[VJ_SHA256_SZ], kernel[VJ_SHA256_SZ], initrd[VJ_SHA256_SZ];
	uint64_t root_size;
	if (vi_sha256_file(e->root, root, &root_size, err) ||
	    vi_sha256_file(e->kernel, kernel, NULL, err) ||
	    vi_sha256_file(e->initrd, initrd, NULL, err))
		return -1;
	/* The options make images gives its own images (images/build.sh). */
	fprintf(f,
		"[%s]\n"
		"description = %s\n"
		"root = %s\n"
		"root_sha256 = %s\n"
		"root_size = %llu\n"
		"kernel = %s\n"
		"kernel_sha256 = %s\n"
		"initrd = %s\n"
		"initrd_sha256 = %s\n"
		"cmdline = console=ttyS0 quiet no_timer_check\n"
		"init = %s\n"
		"min_mem_mb = 128\n",
		e->name, e->description, base_name(e->root), root, (unsigned long long)root_size,
		base_name(e->kernel), kernel, base_name(e->initrd), initrd, e->init);
	if (fflush(f) == EOF || ferror(f))
		return vj_err_sys(err, errno, "writing the catalogue entry");
	return 0;
}
