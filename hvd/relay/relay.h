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

#define RL_MAX_HOSTCMDS 64 /* host commands open at once per command */
#define RL_MAX_SHARED 8    /* HV_MAX_EXPORTS */
#define RL_HOLD_MS 3000    /* how long a task's EXIT waits for hvd's sample */

/* One command of a client (vmexec, hvctl exec) on the agent's stream id. */
struct rl_client {
	uint32_t id;
	int fd;
	struct vj_reader rd;
	bool reading; /* false once the client half-closed (no more input) */
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
/* Read what the client sent and pass it on; false once it is gone. */
bool rl_client_input(struct relay *r, struct rl_client *c, short revents);
/* SAMPLED from hvd, or hvd gone (stream 0: every held end). */
void rl_release(struct relay *r, uint32_t stream);
/* Held ends whose time is up go out. */
void rl_release_due(struct relay *r, long long now);
/* End every command with ERROR msg (the client prints it). */
void rl_end_all(struct relay *r, const char *msg);
/* One frame to the agent; false if the channel failed. */
bool rl_to_agent(struct relay *r, uint16_t type, uint32_t stream, const void *p, size_t len);
struct rl_client *rl_find(struct relay *r, uint32_t id);
void rl_client_free(struct relay *r, struct rl_client *c);

/* hostcmd.c: Slurm commands inside a VM (hostcmd.h of hvd's past). */
void rl_hostcmd_from_agent(struct relay *r, const struct vj_frame *f);
void rl_hostcmd_from_client(struct relay *r, struct rl_client *c, const struct vj_frame *f);
void rl_hostcmd_end(struct relay *r, struct rl_client *c, const char *why);

#endif
