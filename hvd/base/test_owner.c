/* A job's owner from NSS (owner.c): name, groups with the primary first,
 * and what an unknown uid keeps. */
#include <string.h>

#include "base/owner.h"
#include "check.h"

int main(void)
{
	static struct hv_owner o;
	hv_owner_lookup(0, 0, &o);
	CHECK(!strcmp(o.user, "root") && o.ngids >= 1 && o.gids[0] == 0 && !strcmp(o.gnames[0], "root"));
	/* an unknown uid: no name, just the primary group it was given */
	hv_owner_lookup(4000000000u, 12345, &o);
	CHECK(o.user[0] == '\0' && o.ngids == 1 && o.gids[0] == 12345 && o.gnames[0][0] == '\0');
	CHECK(hv_owner_by_name("root", &o) && o.gids[0] == 0);
	CHECK(!hv_owner_by_name("no-such-user-vmjob", &o));
	return CHECK_DONE();
}
