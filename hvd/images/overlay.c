#include "overlay.h"


#include "base/spawn.h"

int hv_disk_overlay(const char *base, const char *base_format, const char *overlay,
		    struct vj_err *err)
{
	char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", (char *)base_format,
			"-b", (char *)base, (char *)overlay, NULL};
	if (hv_run(argv, err))
		return vj_err_prefix(err, "cannot create the root overlay %s", overlay);
	return 0;
}
