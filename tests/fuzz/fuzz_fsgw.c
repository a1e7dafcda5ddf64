/* libFuzzer target for the gateway's guest-facing input path: the framer
 * (fsgw_chan_read, fed the input as a byte stream, exactly as the channel
 * would deliver it) and the per-message validator behind it. Byte 0 picks
 * the session state (before or after INIT) so both gates are explored. */
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsgw.h"

static char buf[FSGW_MAX_MSG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (size < 1)
		return 0;
	struct fsgw g = { .chan = { .wfd = devnull, .v = { .got_init = data[0] & 1, .uid = 1000, .gid = 1000 } } };
	data++;
	size--;

	/* The whole input as one message, as if the framer had accepted it. */
	if (size >= FSGW_IN_HDR && size <= sizeof(buf)) {
		struct fsgw_vstate v = g.chan.v;
		int err = 0;
		memcpy(buf, data, size);
		((uint32_t *)buf)[0] = (uint32_t)size;
		enum fsgw_verdict r = fsgw_validate(&v, buf, size, &err);
		if (r == FSGW_REPLY && (err <= 0 || err > 4095))
			abort();  /* a refusal must carry a real errno */
	}

	/* The input as a stream of messages. */
	int fd = memfd_create("fsgw", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
		ssize_t n;
		while ((n = fsgw_chan_read(fd, buf, sizeof(buf), &g)) > 0) {
			const struct fuse_in_header *h = (const void *)buf;
			/* What passes must be framed as it claims and say the
			 * owner's identity, never the guest's. */
			if ((size_t)n != h->len || n < (ssize_t)FSGW_IN_HDR || h->uid != 1000 || h->gid != 1000)
				abort();
		}
	}
	close(fd);
	return 0;
}
