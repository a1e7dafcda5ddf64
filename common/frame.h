/* Wire framing shared by every vmjob peer: the SPANK plugin and vmexec talking
 * to hvd over its Unix socket, and hvd talking to the in-guest agent over the
 * virtio-serial channel. One format, one parser (fuzzed: the guest is hostile).
 *
 * A frame is a 12-byte little-endian header followed by `len` payload bytes:
 *   u32 len | u16 type | u16 flags | u32 stream
 * `stream` names one command (exec session) on a multiplexed connection; 0 is
 * the connection itself. Payloads of control messages are kv-encoded (kv.h);
 * STDIN/STDOUT/STDERR carry raw bytes and a zero-length one means EOF. */
#ifndef VJ_FRAME_H
#define VJ_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VJ_FRAME_HDR 12u
#define VJ_FRAME_MAX (1u << 20) /* largest payload accepted from anyone */
#define VJ_IO_CHUNK 32768u      /* data frames are split at this size */

enum vj_type {
	/* agent <-> host, per exec stream */
	VJ_HELLO = 1,   /* agent->host on connect: kv version, kernel, [error] */
	VJ_EXEC = 2,    /* start a command: kv uid gid groups cwd pty rows cols
	                   arg* env* [script] [tmpdir] */
	VJ_STARTED = 3, /* kv pid */
	VJ_STDIN = 4,
	VJ_STDOUT = 5,
	VJ_STDERR = 6,
	VJ_SIGNAL = 7,  /* kv sig: deliver to the command's process group */
	VJ_WINSIZE = 8, /* kv rows cols */
	VJ_EXIT = 9,    /* kv status=N (exited) or signal=N (killed), core=0/1 */
	VJ_ERROR = 10,  /* kv msg: the request failed; ends the stream */
	VJ_FLOW = 12,   /* kv stop=1|0, both directions: the sender's side of the
	                   stream is full (send no more data) or has room again;
	                   host->agent: the client does not take STDOUT/STDERR,
	                   agent->host: the command does not read STDIN */
	VJ_HOSTCMD = 11, /* guest->host, on a stream the agent opens (VJ_HOST_STREAM):
	                    run a Slurm command on the host for the job step of
	                    stream `parent`: kv parent arg+ env* [cwd]. The roles of
	                    the other types reverse on such a stream. */

	/* requests to hvd, on stream 0 of a client connection */
	VJ_REQ_CREATE = 32,  /* kv job uid gid cpus mem_mb image [cores] [scratch_mb] */
	VJ_REQ_DESTROY = 33, /* kv job */
	VJ_REQ_LIST = 34,    /* no payload */
	VJ_REQ_EXEC = 35,    /* kv job + the VJ_EXEC fields; the connection then
	                        relays that one stream until VJ_EXIT/VJ_ERROR */
	VJ_REQ_STATUS = 36,  /* kv job */
	VJ_REQ_IMAGES = 37,  /* no payload: the image cache's files */
	VJ_REQ_PULL = 38,    /* kv image: fetch its files into the cache (root) */
	VJ_REQ_EVICT = 39,   /* kv target* (name|sha256) or all=1; none = trim (root) */
	VJ_REQ_DRAIN = 40,   /* kv [reason]: refuse new VMs until RESUME, across restarts (root) */
	VJ_REQ_RESUME = 41,  /* no payload: accept new VMs again (root) */
	VJ_REQ_VMS = 42,     /* no payload: host totals + one `vm` record per VM with
	                        phase times, cpu_ns and mem_kib (hvctl vms/cpu/metrics) */
	VJ_REQ_CATALOGUE = 43, /* no payload: the images one may ask for; reply kv per
	                          image, in order: name, description, init, cached */
	VJ_REQ_POLICY = 44,  /* the site policy: kv job [image] (what it decides for a job
	                        of Slurm's), or show=1 (the policy as text), or check=1
	                        user partition [account] [qos] [group]* [image] (for
	                        given facts); reply vm image rule where | text */
	VJ_REPLY_OK = 48,    /* kv depends on the request */
	VJ_REPLY_ERR = 49,   /* kv msg: one line for the user */

	/* hvd <-> the VM's relay (hvd/relay/), on its control socket; every
	   other frame there passes between hvd and the agent unchanged */
	VJ_RELAY_EXEC = 64,    /* hvd->relay, with the client's fd (SCM_RIGHTS): kv
	                          stream exec hostcmds=0/1 shared* [pending]: exec is
	                          the agent's VJ_EXEC payload, pending what hvd read
	                          of the client after its request; the relay owns
	                          that client from now on */
	VJ_RELAY_END_ALL = 65, /* hvd->relay: kv msg: end every stream with ERROR msg */
	VJ_RELAY_ENDING = 66,  /* relay->hvd: kv stream: a task ends; its EXIT waits
	                          (bounded) for SAMPLED, so accounting sees the VM first */
	VJ_RELAY_SAMPLED = 67, /* hvd->relay: kv stream */
};

/* Streams opened by the guest (host commands) have this bit; the host's own
 * exec streams never do. */
#define VJ_HOST_STREAM 0x80000000u

struct vj_frame {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t stream;
	uint8_t *payload; /* len bytes, plus a NUL after them for convenience */
};

/* Parse a frame from buf[0..n). Returns >0 = bytes consumed (frame filled, the
 * payload points INTO buf), 0 = need more bytes, -1 = malformed (len too big). */
long vj_frame_parse(const uint8_t *buf, size_t n, struct vj_frame *f, uint32_t max);

/* Write one whole frame (handles EINTR and short writes). 0, or -1 with err
 * set (err may be NULL where the caller has no use for the reason). */
int vj_frame_write(int fd, uint16_t type, uint32_t stream, const void *payload, size_t len,
		   struct vj_err *err);

/* The VJ_FRAME_HDR bytes that start a frame of len payload bytes, for a
 * caller that queues frames instead of writing them at once. */
void vj_frame_header(uint8_t hdr[VJ_FRAME_HDR], uint16_t type, uint32_t stream, uint32_t len);

/* Incremental reader for non-blocking or blocking fds. */
struct vj_reader {
	uint8_t *buf;
	size_t len, cap;
	uint32_t max;
};
void vj_reader_init(struct vj_reader *r, uint32_t max);
void vj_reader_free(struct vj_reader *r);
/* read() once into the buffer: >0 bytes read, 0 EOF, -1 with err set
 * (err->code EAGAIN: a non-blocking fd with nothing to read). */
long vj_reader_fill(struct vj_reader *r, int fd, struct vj_err *err);
/* Pop the next complete frame into f; its payload is a malloc'd copy the
 * caller frees. 1 = frame, 0 = need more, -1 = malformed stream. */
int vj_reader_next(struct vj_reader *r, struct vj_frame *f);
/* Blocking convenience: read until one frame arrives. 1 frame, 0 EOF, -1
 * with err set (err->code EPROTO: a malformed stream; ETIMEDOUT: nothing
 * within timeout_ms, if >= 0; else the errno of the failed read). */
int vj_frame_read(int fd, struct vj_reader *r, struct vj_frame *f, int timeout_ms,
		  struct vj_err *err);

/* All of buf or an error, EINTR-safe (a non-blocking fd is waited for).
 * 0, or -1 with err set. */
int vj_write_all(int fd, const void *buf, size_t len, struct vj_err *err);

const char *vj_type_name(uint16_t type);

#endif
