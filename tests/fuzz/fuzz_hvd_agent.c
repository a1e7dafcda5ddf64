/* libFuzzer target: what hvd does with the bytes a guest agent writes to
 * its channel (the guest is hostile, DESIGN.md principle 3): the reader
 * splits them into frames, then hv_agent_msg_action decides each one's fate
 * and a HELLO's kernel/hostname are parsed for the log. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agentmsg.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int p[2];
	if (pipe(p) < 0)
		return 0;
	/* Small enough for the pipe buffer: one write, then EOF. */
	if (size > 60000)
		size = 60000;
	if (write(p[1], data, size) != (ssize_t)size) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	struct vj_reader r;
	vj_reader_init(&r, VJ_FRAME_MAX);
	struct vj_frame f;
	while (vj_frame_read(p[0], &r, &f, 0, NULL) > 0) {
		enum hv_agent_action a = hv_agent_msg_action(&f);
		if (a == HV_AGENT_FORWARD || a == HV_AGENT_END)
			if (f.stream == 0)
				abort(); /* stream 0 is never a client's */
		if (f.type == VJ_HELLO) {
			char kernel[128], host[128];
			hv_agent_hello_parse(&f, kernel, sizeof(kernel), host, sizeof(host));
			for (const char *s = kernel; *s; s++)
				if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
					abort(); /* would reach hvd's log */
		}
		free(f.payload);
	}
	vj_reader_free(&r);
	close(p[0]);
	return 0;
}
