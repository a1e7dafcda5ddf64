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
/* Serve one REQ_EXEC on client fd: authorise, forward, relay until the
 * command ends or the client goes. Replies ERR itself on refusal. rd is the
 * connection's reader: it may already hold the client's first STDIN frames. */
void hv_relay_exec(int client_fd, struct vj_reader *rd, const struct ucred *peer,
		   const void *payload, size_t len);

#endif
