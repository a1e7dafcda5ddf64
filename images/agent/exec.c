/* EXEC: turn a host request into a running command. The request is hostile
 * until proven otherwise: every field goes through the kv getters with bounds,
 * counts are capped, and a bad request gets one ERROR line that says why. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "kv.h"
#include "names.h"

#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_GROUPS 1024
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct exec_req {
	uint64_t uid, gid, pty, rows, cols;
	char cwd[4096];
	char **argv, **env, **grp;
	gid_t groups[MAX_GROUPS];
	size_t ngroups;
	const uint8_t *script; /* points into the frame payload */
	size_t script_len;
	bool has_script;
	char image[VJ_NAME_SZ]; /* "" if the host did not say */
	struct ag_identity id;
};

static void exec_req_free(struct exec_req *r)
{
	vj_strv_free(r->argv);
	vj_strv_free(r->env);
	vj_strv_free(r->grp);
	identity_free(&r->id);
}
#define cleanup_exec_req __attribute__((cleanup(exec_req_free)))

static int parse_gid(const char *s, gid_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v >= (unsigned long)(gid_t)-1)
		return -1;
	*out = (gid_t)v;
	return 0;
}

static int parse_exec(const struct vj_frame *f, struct exec_req *r, struct vj_err *err)
{
	const void *p = f->payload;
	size_t n = f->len;
	memset(r, 0, sizeof(*r));
	r->rows = 24;
	r->cols = 80;
	if (vj_kv_validate(p, n, err) < 0 ||
	    vj_kv_get_u64(p, n, "uid", 0, (uid_t)-2, false, &r->uid, err) < 0 ||
	    vj_kv_get_u64(p, n, "gid", 0, (gid_t)-2, false, &r->gid, err) < 0 ||
	    vj_kv_get_u64(p, n, "pty", 0, 1, true, &r->pty, err) < 0 ||
	    vj_kv_get_u64(p, n, "rows", 0, 65535, true, &r->rows, err) < 0 ||
	    vj_kv_get_u64(p, n, "cols", 0, 65535, true, &r->cols, err) < 0 ||
	    vj_kv_get_str(p, n, "cwd", r->cwd, sizeof(r->cwd), "/", err) < 0 ||
	    vj_kv_get_strv(p, n, "arg", MAX_ARGS, &r->argv, err) < 0 ||
	    vj_kv_get_strv(p, n, "env", MAX_ENV, &r->env, err) < 0 ||
	    vj_kv_get_strv(p, n, "group", MAX_GROUPS, &r->grp, err) < 0 ||
	    vj_kv_get_str(p, n, "image", r->image, sizeof(r->image), "", err) < 0 ||
	    identity_parse(p, n, (uid_t)r->uid, (gid_t)r->gid, &r->id, err) < 0)
		return -1;
	if (!r->argv[0] || !r->argv[0][0])
		return vj_err_set(err, EINVAL, "no command given (missing 'arg')");
	for (char **g = r->grp; *g; g++)
		if (parse_gid(*g, &r->groups[r->ngroups++]) < 0)
			return vj_err_set(err, EINVAL, "bad supplementary group '%.32s'", *g);
	for (char **e = r->env; *e; e++)
		if (!strchr(*e, '=') || **e == '=')
			return vj_err_set(err, EINVAL, "bad environment entry (not K=V)");

	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, p, n);
	while (vj_kv_next(&it, &e) > 0)
		if (vj_kv_key_is(&e, "script")) {
			r->script = e.val;
			r->script_len = e.vlen;
			r->has_script = true;
			break;
		}
	return 0;
}

static bool has_var(char **env, const char *name)
{
	size_t n = strlen(name);
	for (; *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return true;
	return false;
}

/* The command's environment: the host's list, with TMPDIR pointing at the
 * VM's scratch disk, a PATH if the host sent none, and, as login(1) sets
 * them, USER, LOGNAME, HOME and SHELL from the owner's account where the
 * list has none. vars holds the strings made here (freed by the caller). */
static char **build_env(const struct exec_req *r, char *vars[4], struct vj_err *err)
{
	size_t n = 0;
	while (r->env[n])
		n++;
	char **env = calloc(n + 7, sizeof(*env));
	if (!env) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(r->env[i], "TMPDIR=", 7) != 0)
			env[j++] = r->env[i];
	env[j++] = "TMPDIR=/tmp";
	if (!has_var(r->env, "PATH"))
		env[j++] = DEFAULT_PATH;
	const struct ag_identity *id = &r->id;
	const char *login[4][2] = {{"USER", id->user}, {"LOGNAME", id->user},
				   {"HOME", id->home}, {"SHELL", id->shell}};
	for (int i = 0; i < 4; i++)
		if (login[i][1][0] && !has_var(r->env, login[i][0]) &&
		    asprintf(&vars[i], "%s=%s", login[i][0], login[i][1]) >= 0)
			env[j++] = vars[i];
	env[j] = NULL;
	return env; /* borrows the strings: free only the array */
}

/* Write the script to a private file (dir 0711 root, file 0700 owned by the
 * user), so only its owner can read it and nobody can swap it. */
static int write_script(const struct exec_req *r, uint32_t stream, char *path, size_t pathsz,
			struct vj_err *err)
{
	if (mkdir(AG_SCRIPT_DIR, 0711) < 0 && errno != EEXIST)
		return vj_err_sys(err, errno, "mkdir %s", AG_SCRIPT_DIR);
	snprintf(path, pathsz, "%s/script.%u.%ld", AG_SCRIPT_DIR, stream, (long)ag_now_ms());
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (fd < 0)
		return vj_err_sys(err, errno, "creating the job script %s", path);
	if (vj_write_all(fd, r->script, r->script_len, err) < 0) {
		unlink(path);
		return vj_err_prefix(err, "writing the job script %s", path);
	}
	if (fchown(fd, (uid_t)r->uid, (gid_t)r->gid) < 0 || fchmod(fd, 0700) < 0) {
		int e = errno;
		unlink(path);
		return vj_err_sys(err, e, "giving the job script %s to its owner", path);
	}
	return 0;
}

static void free_vars(char *(*vars)[4])
{
	for (int i = 0; i < 4; i++)
		free((*vars)[i]);
}

/* A session that did not start: its script goes with it. */
static void session_discard(struct session **sp)
{
	if (!*sp)
		return;
	if ((*sp)->script[0])
		unlink((*sp)->script);
	free(*sp);
}

static int start(struct agent *ag, const struct vj_frame *f, struct vj_err *err)
{
	if (f->stream == 0)
		return vj_err_set(err, EINVAL, "EXEC on stream 0");
	if (session_find(ag, f->stream))
		return vj_err_set(err, EEXIST, "stream %u is already running a command", f->stream);
	if (ag->nsess >= AG_MAX_SESSIONS)
		return vj_err_set(err, EAGAIN, "too many commands running in the VM (%d)",
				  AG_MAX_SESSIONS);

	cleanup_exec_req struct exec_req r;
	if (parse_exec(f, &r, err) < 0)
		return vj_err_prefix(err, "bad EXEC request");
	struct vj_err ierr = {0};
	if (identity_apply(&r.id, "/etc", &ierr) < 0) /* the command still runs, with bare ids */
		ag_log("stream %u: the owner's account: %s", f->stream, ierr.msg);
	__attribute__((cleanup(free_vars))) char *vars[4] = {0};
	cleanup_free char **env = build_env(&r, vars, err);
	if (!env)
		return -1;
	__attribute__((cleanup(session_discard))) struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return vj_err_set(err, ENOMEM, "out of memory");
	s->stream = f->stream;
	s->pty = r.pty;
	s->oom_kills = session_oom_kills();
	s->in = s->out = s->err = -1;
	if (r.has_script && write_script(&r, f->stream, s->script, sizeof(s->script), err) < 0)
		return -1;

	struct spawn_req rq = {
		.uid = (uid_t)r.uid, .gid = (gid_t)r.gid,
		.groups = r.groups, .ngroups = r.ngroups,
		.cwd = r.cwd, .argv = r.argv, .envp = env,
		.path = r.argv[0], .pty = r.pty, .rows = (unsigned)r.rows, .cols = (unsigned)r.cols,
		.image = r.image,
	};
	if (r.has_script) {
		/* The script runs in place of arg[0]; $0 is its path, as on a host. */
		char *p = strdup(s->script);
		if (!p)
			return vj_err_set(err, ENOMEM, "out of memory");
		free(r.argv[0]);
		r.argv[0] = p;
		rq.path = p;
	}
	struct spawn_res rs;
	if (spawn_command(&rq, &rs, err) < 0)
		return vj_err_prefix(err, "cannot start %s", r.argv[0]);
	s->pid = rs.pid;
	s->in = rs.in;
	s->out = rs.out;
	s->err = rs.err;
	session_add(ag, vj_steal_ptr(s), err); /* cannot fail: the count was checked above */

	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "pid", (uint64_t)rs.pid);
	port_send(&ag->port, VJ_STARTED, f->stream, kv.data, kv.len);
	return 0;
}

void exec_start(struct agent *ag, const struct vj_frame *f)
{
	struct vj_err err = {0};
	if (start(ag, f, &err) < 0) {
		ag_log("stream %u: %s", f->stream, err.msg);
		send_error(ag, f->stream, err.msg);
	}
}
