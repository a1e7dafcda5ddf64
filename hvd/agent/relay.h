/* Exec relay between client connections and a VM's agent channel. Each VM
 * has one reader thread that dispatches the agent's frames to the client of
 * their stream; the client's own thread forwards its frames to the agent. */
#ifndef HV_RELAY_H
#define HV_RELAY_H

#include <sys/socket.h>

#include "vm/vm.h"

/* Start the VM's reader thread (vm->agent_fd connected, HELLO done). */
int hv_relay_start(struct hv_vm *vm, struct vj_err *err);
/* Close the agent channel and join the reader; streams get ERROR. */
void hv_relay_stop(struct hv_vm *vm);
/* End every stream of the VM with ERROR msg (its clients print it and
 * fail) and take no new ones: the VM cannot serve its job any more. */
void hv_relay_end_all(struct hv_vm *vm, const char *msg);
/* One frame to the agent (the channel is shared by all streams). 0, or -1
 * with err set (err may be NULL). */
int hv_agent_send(struct hv_vm *vm, uint16_t type, uint32_t stream, const void *p, size_t len,
		  struct vj_err *err);
/* Serve one REQ_EXEC on client fd: authorise, forward, relay until the
 * command ends or the client goes. Replies ERR itself on refusal. rd is the
 * connection's reader: it may already hold the client's first STDIN frames. */
void hv_relay_exec(const struct hv_config *cfg, int client_fd, struct vj_reader *rd,
		   const struct ucred *peer, const void *payload, size_t len);

#endif
