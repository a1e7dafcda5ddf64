/* What hvd does with a guest agent's frames (agentmsg.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cleanup.h"
#include "kv.h"
#include "agent/agentmsg.h"

static void test_agent_msgs(void)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "status", "0");
	struct vj_frame f = {.type = VJ_EXIT, .stream = 3, .payload = kv.data, .len = (uint32_t)kv.len};
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_END);
	f.stream = 0;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_DROP);
	f.stream = 3;
	f.len = (uint32_t)kv.len - 1;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_MALFORMED);
	uint8_t raw[] = {0xff, 0x00};
	struct vj_frame d = {.type = VJ_STDOUT, .stream = 3, .payload = raw, .len = 2};
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_FORWARD); /* data is not kv */
	d.type = VJ_EXEC; /* host->agent types coming back are dropped */
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
	f.len = (uint32_t)kv.len;
	f.type = VJ_FLOW; /* a command's stdin is full: flow control, per stream */
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_FLOW);
	f.stream = 0;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_DROP);
	f.stream = 3;
	d.type = VJ_FLOW; /* not kv: dropped, not obeyed */
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
	vj_kv_free(&kv);
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "kernel", "6.1\x1b[31m");
	struct vj_frame h = {.type = VJ_HELLO, .payload = kv.data, .len = (uint32_t)kv.len};
	char k[64], host[64];
	hv_agent_hello_parse(&h, k, sizeof(k), host, sizeof(host));
	CHECK(!strcmp(k, "6.1?[31m") && !strcmp(host, "?"));
	vj_kv_free(&kv);
}

/* Streams the guest opens (host commands): the guest asks, sends input and
 * signals; it cannot answer on them nor inject a broken control frame. */
static void test_host_streams(void)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "parent", "3");
	vj_kv_add_str(&kv, "arg", "srun");
	struct vj_frame f = {.type = VJ_HOSTCMD, .stream = VJ_HOST_STREAM | 1, .payload = kv.data,
			     .len = (uint32_t)kv.len};
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_HOST);
	f.len--;
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_DROP);
	f.len++;
	f.stream = 3; /* HOSTCMD on one of the host's streams: nothing */
	CHECK(hv_agent_msg_action(&f) == HV_AGENT_DROP);
	uint8_t raw[] = {0xff};
	struct vj_frame d = {.type = VJ_STDIN, .stream = VJ_HOST_STREAM | 2, .payload = raw, .len = 1};
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_HOST);
	d.type = VJ_EXIT; /* the host's commands answer, not the guest */
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
	d.type = VJ_STDOUT;
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
	d.type = VJ_SIGNAL; /* not kv */
	CHECK(hv_agent_msg_action(&d) == HV_AGENT_DROP);
}

int main(void)
{
	test_agent_msgs();
	test_host_streams();
	return CHECK_DONE();
}
