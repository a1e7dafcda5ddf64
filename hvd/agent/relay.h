/* hvd's end of each VM's relay (hvd/relay/, the vmrelay process that holds
 * the agent channel and the commands' connections). hvd talks to the relay
 * as it would to the agent; one reader thread per VM answers what the
 * relay asks (the accounting sample at a task's end) and notices it end
 * (the VM stopped). A REQ_EXEC is authorised here, then its connection is
 * handed to the relay, so running commands outlive hvd. */
#ifndef HV_RELAY_H
#define HV_RELAY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "vm/vm.h"

struct hv_config;

/* Start the VM's relay (its domain started: QEMU's agent socket exists). */
int hv_relay_spawn(struct hv_vm *vm, struct vj_err *err);
/* Connect to the VM's relay and do the agent's HELLO through it, by
 * deadline_ms; adopt: a VM found after a restart, whose relay is started
 * anew if the earlier one is gone. Sets vm->agent_fd. */
int hv_relay_connect(struct hv_vm *vm, long long deadline_ms, bool adopt, struct vj_err *err);
/* Start the VM's reader thread (connected, HELLO done). */
int hv_relay_start(struct hv_vm *vm, struct vj_err *err);
/* Close the connection to the relay and join the reader; the relay and
 * its commands go on (they end with the VM). */
void hv_relay_stop(struct hv_vm *vm);
/* After the domain is gone: wait for its relay to end (it does once QEMU
 * closes the channel), else stop it. */
void hv_relay_reap(struct hv_vm *vm);
/* End every command of the VM with ERROR msg (its clients print it and
 * fail) and take no new ones: the VM cannot serve its job any more. */
void hv_relay_end_all(struct hv_vm *vm, const char *msg);
/* One frame to the relay, which passes it to the agent unless it is one of
 * the VJ_RELAY_* frames. 0, or -1 with err set (err may be NULL). */
int hv_agent_send(struct hv_vm *vm, uint16_t type, uint32_t stream, const void *p, size_t len,
		  struct vj_err *err);
/* Serve one REQ_EXEC on client fd: authorise, hand over to the relay.
 * Replies ERR itself on refusal. rd is the connection's reader: it may
 * already hold the client's first STDIN frames (they go to the relay). */
void hv_relay_exec(const struct hv_config *cfg, int client_fd, struct vj_reader *rd,
		   const struct ucred *peer, const void *payload, size_t len);

#endif
