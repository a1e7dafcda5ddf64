/* A job's owner as this host's user database (NSS: files, LDAP, SSSD) knows
 * it: the user name and the groups, the primary one first. The one lookup
 * for every part that needs them: the site policy's user and group rules,
 * the gateway servers' groups, per-user exports, hvctl policy check --file.
 * (The guest's copy of the identity is agent/identity.c: it validates names
 * for passwd and group files.) */
#ifndef HV_OWNER_H
#define HV_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HV_OWNER_MAX_GROUPS 256 /* more: the first ones count (fewer rights, never more) */

struct hv_owner {
	char user[256];                          /* "": the uid has no name here */
	gid_t gids[HV_OWNER_MAX_GROUPS];         /* gids[0] is the primary group */
	size_t ngids;
	char gnames[HV_OWNER_MAX_GROUPS][64];    /* gnames[i] of gids[i]; "": no name */
};

/* Fill o for uid with primary group gid. Never fails: what NSS does not
 * know stays empty (a uid without a name keeps just its primary group). */
void hv_owner_lookup(uid_t uid, gid_t gid, struct hv_owner *o);

/* The same by user name (its passwd entry gives the primary group); false
 * if NSS does not know the user. */
bool hv_owner_by_name(const char *user, struct hv_owner *o);

#endif
