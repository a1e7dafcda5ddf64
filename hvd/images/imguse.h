/* Which image-cache files are in use right now, asked of the real systems
 * and never remembered: qcow2 overlays under state_dir/vm/<job>/ whose
 * backing file is in the cache (a booting or running VM's root), and
 * processes whose command line names a cache file (QEMU under libvirt gets
 * -kernel/-initrd paths; a qemu-img at work gets -b). A restarted hvd
 * therefore sees exactly what the previous one saw. */
#ifndef HV_IMGUSE_H
#define HV_IMGUSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "names.h"

struct hv_use {
	char sha256[VJ_SHA256_SZ];
	char who[80]; /* the job (from the overlay's directory or QEMU's -name), else "pid:N" */
};

struct hv_uses {
	struct hv_use *v;
	size_t n;
};

int hv_uses_scan(const char *cache_dir, const char *state_dir, struct hv_uses *out,
		 struct vj_err *err);
void hv_uses_free(struct hv_uses *u);
/* Distinct users of sha, comma-separated, into buf; returns how many. */
size_t hv_uses_of(const struct hv_uses *u, const char *sha, char *buf, size_t bufsz);

/* The backing file name recorded in a qcow2 header (hdr: the file's first n
 * bytes). 1 found (NUL-terminated in out), 0 none or not qcow2, -1 malformed. */
int hv_qcow2_backing(const uint8_t *hdr, size_t n, char *out, size_t outsz);

#endif
