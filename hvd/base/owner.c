/* See owner.h. */
#include "owner.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

/* Big enough for any passwd or group entry NSS returns in practice; an
 * entry that does not fit is treated as unknown (ERANGE). */
#define NSS_BUF 16384

static void fill_groups(struct hv_owner *o, gid_t gid)
{
	int n = HV_OWNER_MAX_GROUPS;
	o->gids[0] = gid;
	o->ngids = 1;
	if (o->user[0] && getgrouplist(o->user, gid, o->gids, &n) >= 0)
		o->ngids = (size_t)n;
	else if (o->user[0])
		o->ngids = HV_OWNER_MAX_GROUPS; /* truncated: the first ones */
	/* getgrouplist puts gid in the list, not always first: make it so. */
	for (size_t i = 1; i < o->ngids; i++)
		if (o->gids[i] == gid) {
			o->gids[i] = o->gids[0];
			o->gids[0] = gid;
			break;
		}
	for (size_t i = 0; i < o->ngids; i++) {
		char buf[NSS_BUF];
		struct group g, *gp = NULL;
		o->gnames[i][0] = '\0';
		if (getgrgid_r(o->gids[i], &g, buf, sizeof(buf), &gp) == 0 && gp)
			snprintf(o->gnames[i], sizeof(o->gnames[i]), "%s", g.gr_name);
	}
}

void hv_owner_lookup(uid_t uid, gid_t gid, struct hv_owner *o)
{
	char buf[NSS_BUF];
	struct passwd pw, *pwp = NULL;
	o->user[0] = '\0';
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		snprintf(o->user, sizeof(o->user), "%s", pw.pw_name);
	fill_groups(o, gid);
}

bool hv_owner_by_name(const char *user, struct hv_owner *o)
{
	char buf[NSS_BUF];
	struct passwd pw, *pwp = NULL;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) || !pwp)
		return false;
	snprintf(o->user, sizeof(o->user), "%s", pw.pw_name);
	fill_groups(o, pw.pw_gid);
	return true;
}
