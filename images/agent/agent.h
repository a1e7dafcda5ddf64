/* vmagent: the in-guest agent. It owns one virtio-serial port (named
 * org.vmjob.agent), speaks the agent channel of docs/internals.md over it and
 * runs many commands at once from a single poll loop. Everything the host
 * sends is validated before use; nothing a child does can stall the loop. */
#ifndef VMAGENT_H
#define VMAGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "frame.h"
#include "ioq.h"
#include "paths.h"

#define AG_PORT_NAME "org.vmjob.agent"
#define AG_MAX_SESSIONS 256
/* Host data queued for a child that is not reading its stdin. Past this we
 * stop reading the port (lossless back-pressure) until the child drains it,
 * exits, or its stream ends. */
#define AG_STDIN_CAP (1u << 20)
/* Past this the agent stops reading the host altogether (a host that
 * ignores FLOW; all streams stall, memory stays bounded). */
#define AG_STDIN_HARD (4u * AG_STDIN_CAP)
/* EXIT waits this long after the reap for stdout/stderr to reach EOF, so a
 * background process keeping them open cannot hold the stream forever. */
#define AG_EXIT_GRACE_MS 2000
#define AG_SCRIPT_DIR "/run/vmagent"

long long ag_now_ms(void);
void ag_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- port.c: find, open and watch the virtio-serial port ---- */
struct port {
	int fd;          /* -1 while the device is not open */
	bool connected;  /* host side has the socket open (no POLLHUP) */
	char path[64];
	struct vj_reader rd;
};
void port_init(struct port *p);
/* Open the device if needed and refresh `connected`. Returns true when the
 * host just became connected (the caller greets it with HELLO). */
bool port_refresh(struct port *p);
/* The host went away or the device failed: forget partial input; the fd is
 * closed too if it is broken, so the next refresh reopens it. */
void port_lost(struct port *p, bool reopen);
/* Send one frame; a failure marks the port lost (the data has nowhere to go). */
int port_send(struct port *p, uint16_t type, uint32_t stream, const void *payload, size_t len);


/* ---- spawn.c: start one command with an identity, on pipes or a pty ---- */
struct spawn_req {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	const char *cwd;
	const char *path; /* file to execute (argv[0] or the private script) */
	char **argv;
	char **envp;
	bool pty;
	unsigned rows, cols;
	const char *image; /* the VM's image, for "not found in image" lines */
};
struct spawn_res {
	pid_t pid;
	int in, out, err; /* parent ends; with a pty in == out == the master, err = -1 */
};
int spawn_command(const struct spawn_req *rq, struct spawn_res *rs, struct vj_err *err);

/* ---- session.c: one running command per stream ---- */
struct session {
	uint32_t stream;
	pid_t pid;
	bool pty;
	int in, out, err;      /* -1 once closed; pty: in == out */
	struct ioq inq;
	bool in_eof;           /* host sent STDIN EOF: close once the queue drains */
	bool in_stopped;       /* we sent FLOW stop=1: the queue is over AG_STDIN_CAP */
	bool out_paused;       /* the host sent FLOW stop=1: its client is not reading */
	bool reaped;
	int wstatus;
	long long reaped_at;
	char script[128];      /* private script file to remove at the end, or "" */
	unsigned long long oom_kills; /* the guest kernel's count when it started */
};
/* The guest kernel's count of out-of-memory kills (/proc/vmstat oom_kill). */
unsigned long long session_oom_kills(void);

/* ---- hostcmd.c: Slurm commands from the guest, run on the host ---- */
#define AG_HOST_DIR VJ_GUEST_HOST_DIR
#define AG_HOST_SOCK VJ_GUEST_HOST_SOCK
#define AG_MAX_HOSTCMDS 256
struct hostconn {
	int fd;              /* the guest program's connection */
	uint32_t stream;     /* ours, with VJ_HOST_STREAM */
	struct vj_reader rd;
	struct ioq outq;     /* frames for the program */
	bool sent;           /* its HOSTCMD went to the host */
	bool ended;          /* EXIT or ERROR queued: close once delivered */
	bool broken;         /* close now */
};

struct agent {
	struct port port;
	struct session *sess[AG_MAX_SESSIONS];
	size_t nsess;
	int sigfd;
	int host_lfd; /* AG_HOST_SOCK, -1 if it could not be made */
	struct hostconn *host[AG_MAX_HOSTCMDS];
	size_t nhost;
	uint32_t next_host;
};

struct pollfd;
/* Listen on AG_HOST_SOCK (mode 0666: every process of the job may ask). */
int hostcmd_listen(struct agent *ag);
/* Its pollfds (the listener, each connection) into p/owner; the count. */
size_t hostcmd_pollfds(struct agent *ag, struct pollfd *p, struct hostconn **owner);
void hostcmd_events(struct agent *ag, const struct pollfd *p, struct hostconn **owner, size_t n);
/* A frame from the host on a VJ_HOST_STREAM stream. */
void hostcmd_from_host(struct agent *ag, const struct vj_frame *f);
/* The host went away: every command waiting for it fails. */
void hostcmd_host_lost(struct agent *ag);
bool hostcmd_backlogged(const struct agent *ag);

struct session *session_find(struct agent *ag, uint32_t stream);
struct session *session_by_pid(struct agent *ag, pid_t pid);
int session_add(struct agent *ag, struct session *s, struct vj_err *err);
/* Pump a session's fds after poll; revents per fd role. */
void session_io(struct agent *ag, struct session *s, int fd, short revents);
/* Queue host STDIN data for the child; n == 0 is EOF. */
void session_stdin(struct agent *ag, struct session *s, const uint8_t *data, size_t n);
/* Send EXIT and drop sessions that are finished; returns the poll timeout
 * (ms, -1 = none) needed to honour AG_EXIT_GRACE_MS. */
int session_finish_ready(struct agent *ag);
/* true if some child's stdin queue is over AG_STDIN_HARD */
bool session_backlogged(const struct agent *ag);

/* ---- identity.c: the job owner's account in the guest ---- */
#define AG_MAX_GNAMES 1024
struct ag_identity {
	uid_t uid;
	gid_t gid;
	char user[64], home[1024], shell[1024]; /* "" when the host sent none */
	char **gnames;                          /* "GID:NAME", NULL-terminated */
};
/* The identity fields of an EXEC (user, home, shell, gname), checked so
 * nothing in them can add a line to a passwd or group file. */
int identity_parse(const void *p, size_t n, uid_t uid, gid_t gid, struct ag_identity *id,
		   struct vj_err *err);
void identity_free(struct ag_identity *id);
/* Give the user and its groups their entries in etc's passwd and group
 * (replacing the image's entries for the same ids or names) and a home
 * directory if it has none. Nothing if no user name came (root, or a uid the
 * host does not name). 0, or -1 with err set. */
int identity_apply(const struct ag_identity *id, const char *etc, struct vj_err *err);

/* ---- exec.c: validate an EXEC request and start its session ---- */
void exec_start(struct agent *ag, const struct vj_frame *f);

/* ---- dispatch.c: act on one frame from the host ---- */
void dispatch_frame(struct agent *ag, const struct vj_frame *f);
void send_hello(struct agent *ag);
void send_error(struct agent *ag, uint32_t stream, const char *msg);

#endif
