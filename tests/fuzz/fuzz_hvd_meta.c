/* libFuzzer target: the domain metadata a restarted hvd adopts VMs from
 * (hvd/libvirt/meta.c over libxml2). Anyone with libvirt access can edit it, so it is parsed as
 * untrusted: no overread, and whatever it accepts is a valid job/image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/meta.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_vmdesc m;
	struct vj_err err;
	if (hv_meta_parse((const char *)data, size, &m, &err) == 0)
		if (!vj_name_valid(m.job) || !vj_name_valid(m.image) ||
		    strspn(m.cores, "0123456789,-") != strlen(m.cores) || m.cpus > 1024)
			abort();
	return 0;
}
