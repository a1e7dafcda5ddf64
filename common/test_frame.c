/* Frames survive a pipe byte-by-byte, oversize lengths are refused before
 * anything is allocated, and EOF mid-frame is a protocol error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"

static void pipe_roundtrip(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(vj_frame_write(p[1], VJ_STDOUT, 7, "hello", 5, NULL) == 0);
	CHECK(vj_frame_write(p[1], VJ_STDIN, 7, NULL, 0, NULL) == 0);
	close(p[1]);
	struct vj_reader r;
	struct vj_frame f;
	struct vj_err err;
	vj_reader_init(&r, 0);
	CHECK(vj_frame_read(p[0], &r, &f, 1000, &err) == 1);
	CHECK(f.type == VJ_STDOUT && f.stream == 7 && f.len == 5 && memcmp(f.payload, "hello", 5) == 0);
	free(f.payload);
	CHECK(vj_frame_read(p[0], &r, &f, 1000, &err) == 1);
	CHECK(f.type == VJ_STDIN && f.len == 0);
	free(f.payload);
	CHECK(vj_frame_read(p[0], &r, &f, 1000, &err) == 0); /* clean EOF */
	vj_reader_free(&r);
	close(p[0]);
}

static void byte_by_byte(void)
{
	uint8_t wire[64];
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(vj_frame_write(p[1], VJ_EXIT, 3, "xyz", 3, NULL) == 0);
	ssize_t n = read(p[0], wire, sizeof(wire));
	CHECK(n == 15);
	struct vj_frame f;
	for (ssize_t i = 0; i < n; i++)
		CHECK(vj_frame_parse(wire, (size_t)i, &f, VJ_FRAME_MAX) == 0);
	CHECK(vj_frame_parse(wire, (size_t)n, &f, VJ_FRAME_MAX) == n);
	CHECK(f.type == VJ_EXIT && f.stream == 3 && f.len == 3);
	close(p[0]);
	close(p[1]);
}

static void oversize_and_truncated(void)
{
	uint8_t hdr[VJ_FRAME_HDR] = {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0};
	struct vj_frame f;
	struct vj_err err;
	CHECK(vj_frame_parse(hdr, sizeof(hdr), &f, VJ_FRAME_MAX) == -1);

	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	close(p[1]);
	struct vj_reader r;
	vj_reader_init(&r, 0);
	CHECK(vj_frame_read(p[0], &r, &f, 1000, &err) == -1 && err.code == EPROTO);
	vj_reader_free(&r);
	close(p[0]);

	/* A header promising 10 bytes, then EOF after 2. */
	uint8_t part[VJ_FRAME_HDR + 2] = {10, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 'a', 'b'};
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], part, sizeof(part)) == (ssize_t)sizeof(part));
	close(p[1]);
	vj_reader_init(&r, 0);
	CHECK(vj_frame_read(p[0], &r, &f, 1000, &err) == -1 && err.code == EPROTO);
	vj_reader_free(&r);
	close(p[0]);
}

static void timeout(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	struct vj_reader r;
	struct vj_frame f;
	struct vj_err err;
	vj_reader_init(&r, 0);
	CHECK(vj_frame_read(p[0], &r, &f, 50, &err) == -1 && err.code == ETIMEDOUT);
	vj_reader_free(&r);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	pipe_roundtrip();
	byte_by_byte();
	oversize_and_truncated();
	timeout();
	return CHECK_DONE();
}
