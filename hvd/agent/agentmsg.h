/* What hvd does with one frame from a guest agent (hostile input, DESIGN.md
 * principle 3). Pure functions: the relay, the HELLO wait and the fuzzer
 * share them. */
#ifndef HV_AGENTMSG_H
#define HV_AGENTMSG_H

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

enum hv_agent_action {
	HV_AGENT_DROP,      /* not for any client (HELLO answers, unknown types) */
	HV_AGENT_FORWARD,   /* pass to the stream's client */
	HV_AGENT_END,       /* pass to the client; the stream is over (EXIT, ERROR) */
	HV_AGENT_MALFORMED, /* a control frame whose kv payload is broken */
	HV_AGENT_HOST,      /* a host command's frame (VJ_HOST_STREAM): hostcmd.c */
	HV_AGENT_FLOW,      /* FLOW (well-formed kv): the command's stdin is full or has room */
};

enum hv_agent_action hv_agent_msg_action(const struct vj_frame *f);

/* kernel and hostname of an agent HELLO, printable ASCII only ("?" if
 * missing or unreadable). */
void hv_agent_hello_parse(const struct vj_frame *f, char *kernel, size_t ksz, char *host,
			  size_t hsz);

/* The agent's HELLO may say the VM is unfit for jobs (e.g. the filesystem
 * gateway could not mount): true with the reason, printable ASCII. */
bool hv_agent_hello_error(const struct vj_frame *f, char *msg, size_t msz);

#endif
