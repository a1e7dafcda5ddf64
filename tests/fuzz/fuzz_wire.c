/* libFuzzer target: everything a guest or local user can send first goes
 * through the frame parser, the incremental reader and the kv decoder. Feed
 * arbitrary bytes to all three; ASan/UBSan turn any overread into a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "kv.h"

static void decode_kv(const uint8_t *p, size_t n)
{
	struct vj_err err;
	char s[64];
	uint64_t v;
	char **strv = NULL;
	(void)vj_kv_validate(p, n, &err);
	(void)vj_kv_get_str(p, n, "msg", s, sizeof(s), NULL, &err);
	(void)vj_kv_get_u64(p, n, "uid", 0, UINT32_MAX, false, &v, &err);
	if (vj_kv_get_strv(p, n, "arg", 4096, &strv, &err) == 0)
		vj_strv_free(strv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Direct parse of a buffer holding any number of frames. */
	size_t off = 0;
	struct vj_frame f;
	long used;
	while ((used = vj_frame_parse(data + off, size - off, &f, 65536)) > 0) {
		decode_kv(f.payload, f.len);
		off += (size_t)used;
	}
	/* The same bytes through a pipe and the incremental reader, in the odd
	 * chunk sizes a virtio-serial port produces. */
	int p[2];
	if (size > 60000 || pipe(p) != 0)
		return 0;
	if (write(p[1], data, size) != (ssize_t)size) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	struct vj_reader r;
	vj_reader_init(&r, 65536);
	while (vj_frame_read(p[0], &r, &f, 1000, NULL) == 1) {
		decode_kv(f.payload, f.len);
		free(f.payload);
	}
	vj_reader_free(&r);
	close(p[0]);
	return 0;
}
