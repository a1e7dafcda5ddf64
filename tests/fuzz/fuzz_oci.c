/* libFuzzer target: vmjob-image's readers of an OCI image layout's JSON
 * (index.json, a manifest, an image config). A layout may come from any
 * registry by way of skopeo, so every byte is hostile. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imagetool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vi_desc d, cfg, layers[8];
	struct vj_err err;
	bool nested;
	size_t n;
	const char *text = (const char *)data;
	if (vi_oci_pick(text, size, NULL, &d, &nested, &err) == 0)
		(void)strlen(d.digest);
	(void)vi_oci_pick(text, size, "latest", &d, &nested, &err);
	if (vi_oci_manifest(text, size, &cfg, layers, 8, &n, &err) == 0 && n > 8)
		abort();
	(void)vi_oci_platform(text, size, &err);
	return 0;
}
