/* vmrelay: one process per VM that holds the VM's agent channel and the
 * connections of its running commands, so they outlive hvd (docs/internals.md,
 * "The relay"). hvd talks to it over a control socket as it would to the
 * agent; a command's client connection, once hvd has authorised it, is
 * handed over (SCM_RIGHTS) and relayed here until the command ends. */
#ifndef RL_RELAY_H
#define RL_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "ioq.h"

#define RL_MAX_HOSTCMDS 64 /* host commands open at once per command */
#define RL_MAX_SHARED 8    /* HV_MAX_EXPORTS */
#define RL_HOLD_MS 3000    /* how long a task's EXIT waits for hvd's sample */
/* Output queued for one client: over HIGH the agent stops reading that
 * command's output (FLOW stop=1), under LOW it goes on; over HARD (a guest
 * that ignores FLOW) the relay stops reading the agent at all. */
#define RL_OUT_HIGH (1u << 20)
#define RL_OUT_LOW (256u << 10)
#define RL_OUT_HARD (8u << 20)


/* One command of a client (vmexec, hvctl exec) on the agent's stream id. */
struct rl_client {
	uint32_t id;
	int fd;
	struct vj_reader rd;
	bool reading; /* false once the client half-closed (no more input) */
	struct ioq out;     /* frames for the client, written as it takes them */
	bool out_paused;    /* we sent the agent FLOW stop=1 for this command */
	bool in_paused;     /* the agent sent FLOW stop=1: its stdin is full */
	bool closing;       /* its end is queued: let go once the queue is out */
	bool gone;          /* the client left or failed: let go now */
	/* Host commands (hostcmd.c): whether the client runs them, where the
	 * guest's working directory is the host's too, the open ones. */
	bool hostcmds;
	char *shared[RL_MAX_SHARED];
	unsigned nshared;
	uint32_t host[RL_MAX_HOSTCMDS];
	/* The command's end (EXIT/ERROR), held until hvd sampled the job's
	 * accounting or held_until (monotonic ms) passed. */
	struct vj_frame held;
	bool holding;
	long long held_until;
	struct rl_client *next;
};

struct relay {
	const char *job;
	int agent_fd;
	struct vj_reader agent_rd;
	int listen_fd;
	int hvd_fd; /* the current hvd, or -1 */
	struct vj_reader hvd_rd;
	int fdq[16]; /* client fds received from hvd, for its next RELAY_EXECs */
	unsigned nfdq;
	struct rl_client *clients;
	bool ended; /* END_ALL: no new commands, end_msg says why */
	char end_msg[512];
};

/* streams.c */
/* A frame from the agent. */
void rl_from_agent(struct relay *r, const struct vj_frame *f);
/* RELAY_EXEC from hvd (fd: the client's connection, or -1 if none came). */
void rl_exec(struct relay *r, const struct vj_frame *f, int fd);
/* The client's poll events: write what is queued, read what it sent. */
void rl_client_input(struct relay *r, struct rl_client *c, short revents);
/* One frame to the client, queued (never blocks). */
void rl_to_client(struct relay *r, struct rl_client *c, uint16_t type, uint32_t stream,
		  const void *p, size_t len);
void rl_client_flush(struct relay *r, struct rl_client *c);
/* Let go of the clients that left or have their end: after each round. */
void rl_sweep(struct relay *r);
/* At exit: give the clients their queued ends, for up to timeout_ms. */
void rl_drain_all(struct relay *r, int timeout_ms);
/* Still running: neither ended nor left. */
static inline bool rl_client_live(const struct rl_client *c)
{
	return !c->holding && !c->closing && !c->gone;
}
/* SAMPLED from hvd, or hvd gone (stream 0: every held end). */
void rl_release(struct relay *r, uint32_t stream);
/* Held ends whose time is up go out. */
void rl_release_due(struct relay *r, long long now);
/* End every command with ERROR msg (the client prints it). */
void rl_end_all(struct relay *r, const char *msg);
/* One frame to the agent; false if the channel failed. */
bool rl_to_agent(struct relay *r, uint16_t type, uint32_t stream, const void *p, size_t len);
/* The live client of stream id, or NULL. */
struct rl_client *rl_find(struct relay *r, uint32_t id);

/* hostcmd.c: Slurm commands inside a VM (hostcmd.h of hvd's past). */
void rl_hostcmd_from_agent(struct relay *r, const struct vj_frame *f);
void rl_hostcmd_from_client(struct relay *r, struct rl_client *c, const struct vj_frame *f);
void rl_hostcmd_end(struct relay *r, struct rl_client *c, const char *why);

#endif
