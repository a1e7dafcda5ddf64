/* The job owner in the guest's /etc/passwd and /etc/group (agent.h). The
 * host names the user in every EXEC (user, home, shell, gname: hvd's
 * identity.c); the first EXEC of an identity writes it, later ones find it
 * there. Only this one user and its groups are written: a guest never learns
 * anything else of the host's accounts. The image's own entries for the
 * same uid, gid or names give way (the host's account is the truth), all
 * others stay. Files are replaced by rename, so a reader never sees half. */
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

#define ACCOUNTS_MAX (4u << 20) /* a bigger passwd file is not an image's */

/* The text of path (empty if it does not exist), NUL-terminated. */
static char *slurp(const char *path, struct vj_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		vj_err_sys(err, errno, "cannot read %s", path);
		return NULL;
	}
	cleanup_free char *buf = malloc(ACCOUNTS_MAX + 1);
	if (!buf) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	size_t len = 0;
	while (fd >= 0 && len < ACCOUNTS_MAX) {
		ssize_t n = read(fd, buf + len, ACCOUNTS_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vj_err_sys(err, errno, "cannot read %s", path);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return vj_steal_ptr(buf);
}

/* Field i (0-based) of a ':' separated line is `want` (length-exact). */
static bool field_is(const char *line, size_t len, int i, const char *want)
{
	const char *p = line, *end = line + len;
	for (; i > 0; i--) {
		p = memchr(p, ':', (size_t)(end - p));
		if (!p)
			return false;
		p++;
	}
	const char *q = memchr(p, ':', (size_t)(end - p));
	size_t flen = (size_t)((q ? q : end) - p);
	return flen == strlen(want) && !memcmp(p, want, flen);
}

/* Write old's lines except those whose field 0 is name or field 2 is id,
 * then `add`, to path, by rename. Unchanged if add is already a line. */
static int replace_entry(const char *path, const char *name, const char *id, const char *add,
			 struct vj_err *err)
{
	cleanup_free char *old = slurp(path, err);
	if (!old)
		return -1;
	size_t alen = strlen(add);
	for (const char *l = old; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len == alen && !memcmp(l, add, alen))
			return 0;
		l += len + (nl != NULL);
	}
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.vmjob-new", path);
	cleanup_fclose FILE *f = fopen(tmp, "we");
	if (!f)
		return vj_err_sys(err, errno, "cannot write %s", tmp);
	for (const char *l = old; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && !field_is(l, len, 0, name) && !field_is(l, len, 2, id))
			fprintf(f, "%.*s\n", (int)len, l);
		l += len + (nl != NULL);
	}
	fprintf(f, "%s\n", add);
	if (fchmod(fileno(f), 0644) < 0 || fflush(f) != 0 || ferror(f)) {
		int e = errno;
		unlink(tmp);
		return vj_err_sys(err, e, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vj_err_sys(err, e, "cannot replace %s", path);
	}
	return 0;
}

/* mkdir -p of home's parents (root's, 0755) and home itself (the user's,
 * 0700), unless it exists: the shared filesystem may bring it. */
static void make_home(const char *home, uid_t uid, gid_t gid)
{
	struct stat st;
	if (stat(home, &st) == 0 || strstr(home, "/../") || strlen(home) >= 1024)
		return;
	char path[1024];
	snprintf(path, sizeof(path), "%s", home);
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 || chown(path, uid, gid) < 0)
		ag_log("cannot make the home directory %s: %s", path, strerror(errno));
}

int identity_parse(const void *p, size_t n, uid_t uid, gid_t gid, struct ag_identity *id,
		   struct vj_err *err)
{
	memset(id, 0, sizeof(*id));
	id->uid = uid;
	id->gid = gid;
	if (vj_kv_get_str(p, n, "user", id->user, sizeof(id->user), "", err) < 0 ||
	    vj_kv_get_str(p, n, "home", id->home, sizeof(id->home), "", err) < 0 ||
	    vj_kv_get_str(p, n, "shell", id->shell, sizeof(id->shell), "", err) < 0 ||
	    vj_kv_get_strv(p, n, "gname", AG_MAX_GNAMES, &id->gnames, err) < 0)
		return -1;
	/* Whatever reaches a passwd line must not be able to add another. */
	if (strpbrk(id->user, ":\n/") || strpbrk(id->home, ":\n") || strpbrk(id->shell, ":\n") ||
	    (id->home[0] && id->home[0] != '/') || (id->shell[0] && id->shell[0] != '/'))
		return vj_err_set(err, EINVAL, "bad user identity (':', a newline or a relative path)");
	for (char **g = id->gnames; *g; g++) {
		char *colon = strchr(*g, ':');
		if (!colon || colon == *g || !colon[1] || strpbrk(colon + 1, ":\n/,") ||
		    strspn(*g, "0123456789") != (size_t)(colon - *g))
			return vj_err_set(err, EINVAL, "bad group name entry (not GID:NAME)");
	}
	return 0;
}

void identity_free(struct ag_identity *id)
{
	vj_strv_free(id->gnames);
	id->gnames = NULL;
}

int identity_apply(const struct ag_identity *id, const char *etc, struct vj_err *err)
{
	if (!id->user[0] || id->uid == 0)
		return 0; /* root, or a uid the host's NSS does not name */
	char line[2300], uid[16], gid[16], passwd[256], group[256];
	snprintf(passwd, sizeof(passwd), "%s/passwd", etc);
	snprintf(group, sizeof(group), "%s/group", etc);
	snprintf(uid, sizeof(uid), "%u", (unsigned)id->uid);
	snprintf(line, sizeof(line), "%s:x:%u:%u::%s:%s", id->user, (unsigned)id->uid,
		 (unsigned)id->gid, id->home[0] ? id->home : "/", id->shell[0] ? id->shell : "/bin/sh");
	if (replace_entry(passwd, id->user, uid, line, err) < 0)
		return -1;
	for (char **g = id->gnames; *g; g++) {
		char *colon = strchr(*g, ':');
		snprintf(gid, sizeof(gid), "%.*s", (int)(colon - *g), *g);
		snprintf(line, sizeof(line), "%s:x:%s:%s", colon + 1, gid, id->user);
		if (replace_entry(group, colon + 1, gid, line, err) < 0)
			return -1;
	}
	if (id->home[0])
		make_home(id->home, id->uid, id->gid);
	return 0;
}
