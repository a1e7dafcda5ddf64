#include "identity.h"

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cleanup.h"
#include "names.h"

/* A user or group name the guest's files can hold: POSIX portable names
 * plus '$' at the end (Samba machine accounts), as useradd accepts. */
static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= VJ_NAME_SZ || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-' || (c == '$' && i == n - 1);
		if (!ok)
			return false;
	}
	return true;
}

/* An absolute path with nothing that would break a passwd line. */
static bool good_path(const char *s)
{
	return s && s[0] == '/' && strlen(s) < 1024 && !strpbrk(s, ":\n\r");
}

/* getpw*_r and getgr*_r want a buffer of a size only sysconf knows. */
static size_t nss_bufsize(int which)
{
	long n = sysconf(which);
	return n > 0 && n < (1 << 20) ? (size_t)n : 16384;
}

static void add_group(struct vj_kvbuf *kv, gid_t gid, char *buf, size_t bufsz)
{
	struct group gr, *res = NULL;
	if (gid == 0 || getgrgid_r(gid, &gr, buf, bufsz, &res) != 0 || !res)
		return;
	if (!good_name(gr.gr_name)) {
		hv_debug("group %u: name not usable in a guest; left out", (unsigned)gid);
		return;
	}
	vj_kv_add_fmt(kv, "gname", "%u:%s", (unsigned)gid, gr.gr_name);
}

void hv_identity_add(struct vj_kvbuf *kv, uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	if (uid == 0)
		return;
	size_t pwsz = nss_bufsize(_SC_GETPW_R_SIZE_MAX), grsz = nss_bufsize(_SC_GETGR_R_SIZE_MAX);
	cleanup_free char *pwbuf = malloc(pwsz), *grbuf = malloc(grsz);
	if (!pwbuf || !grbuf)
		return;
	struct passwd pw, *res = NULL;
	if (getpwuid_r(uid, &pw, pwbuf, pwsz, &res) != 0 || !res)
		return;
	if (!good_name(pw.pw_name)) {
		hv_debug("uid %u: name not usable in a guest; left out", (unsigned)uid);
		return;
	}
	vj_kv_add_str(kv, "user", pw.pw_name);
	if (good_path(pw.pw_dir))
		vj_kv_add_str(kv, "home", pw.pw_dir);
	if (good_path(pw.pw_shell))
		vj_kv_add_str(kv, "shell", pw.pw_shell);
	add_group(kv, gid, grbuf, grsz);
	for (size_t i = 0; i < n; i++)
		if (groups[i] != gid)
			add_group(kv, groups[i], grbuf, grsz);
}
