/* libFuzzer target: the image catalogue (hvd/images/catalogue.c over
 * hvd/base/ini.c and inih). It comes from a web server, so it is parsed as
 * untrusted: no overread, and every image it accepts is complete and named
 * validly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "images/catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_catalogue c;
	struct vj_err err;
	if (hv_catalogue_parse((const char *)data, size, "http://repo.test/c/catalogue.conf", &c,
			       &err))
		return 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct hv_image *im = &c.images[i];
		if (!vj_name_valid(im->name) || !im->root.url[0] || !im->kernel.url[0] ||
		    !im->initrd.url[0] || !hv_sha256_valid(im->root.sha256) ||
		    !hv_sha256_valid(im->kernel.sha256) || !hv_sha256_valid(im->initrd.sha256))
			abort();
	}
	hv_catalogue_free(&c);
	return 0;
}
