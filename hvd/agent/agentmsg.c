#include "agentmsg.h"

#include <stdio.h>
#include <string.h>

#include "kv.h"

/* On a stream the guest opened, the guest is the client: it asks (HOSTCMD)
 * and sends input and signals; hostcmd.c checks the rest. */
static enum hv_agent_action host_stream_action(const struct vj_frame *f)
{
	switch (f->type) {
	case VJ_STDIN:
		return HV_AGENT_HOST;
	case VJ_HOSTCMD:
	case VJ_SIGNAL:
	case VJ_WINSIZE:
		return vj_kv_validate(f->payload, f->len, NULL) ? HV_AGENT_DROP : HV_AGENT_HOST;
	default:
		return HV_AGENT_DROP;
	}
}

enum hv_agent_action hv_agent_msg_action(const struct vj_frame *f)
{
	if (f->stream & VJ_HOST_STREAM)
		return host_stream_action(f);
	switch (f->type) {
	case VJ_STDOUT:
	case VJ_STDERR:
		return f->stream ? HV_AGENT_FORWARD : HV_AGENT_DROP; /* raw bytes */
	case VJ_STARTED:
	case VJ_EXIT:
	case VJ_ERROR:
		if (!f->stream)
			return HV_AGENT_DROP;
		if (vj_kv_validate(f->payload, f->len, NULL))
			return HV_AGENT_MALFORMED;
		return f->type == VJ_STARTED ? HV_AGENT_FORWARD : HV_AGENT_END;
	case VJ_FLOW:
		if (!f->stream || vj_kv_validate(f->payload, f->len, NULL))
			return HV_AGENT_DROP;
		return HV_AGENT_FLOW;
	default:
		return HV_AGENT_DROP;
	}
}

/* Guest strings go into hvd's log: no control characters. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

void hv_agent_hello_parse(const struct vj_frame *f, char *kernel, size_t ksz, char *host,
			  size_t hsz)
{
	if (vj_kv_get_str(f->payload, f->len, "kernel", kernel, ksz, "?", NULL))
		snprintf(kernel, ksz, "?");
	if (vj_kv_get_str(f->payload, f->len, "hostname", host, hsz, "?", NULL))
		snprintf(host, hsz, "?");
	sanitize(kernel);
	sanitize(host);
}

bool hv_agent_hello_error(const struct vj_frame *f, char *msg, size_t msz)
{
	if (vj_kv_get_str(f->payload, f->len, "error", msg, msz, "", NULL) || !msg[0])
		return false;
	sanitize(msg);
	return true;
}
