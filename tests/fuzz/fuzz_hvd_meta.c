/* libFuzzer target: the domain metadata a restarted hvd adopts VMs from
 * (hvd/meta.c). Anyone with libvirt access can edit it, so it is parsed as
 * untrusted: no overread, and whatever it accepts is a valid job/image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalogue.h"
#include "libvirt/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_meta m;
	struct vj_err err;
	if (hv_meta_parse((const char *)data, size, &m, &err) == 0)
		if (!vj_name_valid(m.job) || !vj_name_valid(m.image))
			abort();
	return 0;
}
