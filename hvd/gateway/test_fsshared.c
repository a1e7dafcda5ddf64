/* Which guest paths are the same files on the host (hv_fs_shared). */
#include <string.h>

#include "base/config.h"
#include "check.h"
#include "gateway/fsexport.h"

int main(void)
{
	struct hv_config c;
	memset(&c, 0, sizeof(c));
	strcpy(c.exports[0], "/home");
	strcpy(c.exports[1], "/srv/shared/");
	c.nexports = 2;
	CHECK(hv_fs_shared(&c, 0, 0, "/home"));
	CHECK(hv_fs_shared(&c, 0, 0, "/home/alice/proj"));
	CHECK(hv_fs_shared(&c, 0, 0, "/srv/shared"));
	CHECK(hv_fs_shared(&c, 0, 0, "/srv/shared/x"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/homes/alice"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/tmp"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/"));
	CHECK(!hv_fs_shared(&c, 0, 0, "home/alice"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/home/../etc"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/home/alice/.."));
	CHECK(!hv_fs_shared(&c, 0, 0, "/home/./alice"));
	CHECK(hv_fs_shared(&c, 0, 0, "/home/alice/..x"));
	c.nexports = 0;
	CHECK(!hv_fs_shared(&c, 0, 0, "/home"));
	/* A per-user export: only the owner's own tree is shared. */
	memset(&c, 0, sizeof(c));
	strcpy(c.exports[0], "/home/%u");
	strcpy(c.exports[1], "/gpfs/%g/scratch");
	c.nexports = 2;
	char p[4096];
	struct vj_err err;
	CHECK(hv_fs_export_path(&c, 0, 0, 0, p, sizeof(p), &err) == 0 && !strcmp(p, "/home/root"));
	CHECK(hv_fs_export_path(&c, 1, 0, 0, p, sizeof(p), &err) == 0 && !strcmp(p, "/gpfs/root/scratch"));
	CHECK(hv_fs_shared(&c, 0, 0, "/home/root/proj"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/home/alice/proj"));
	CHECK(!hv_fs_shared(&c, 0, 0, "/home"));
	CHECK(hv_fs_export_path(&c, 0, 4000000000u, 0, p, sizeof(p), &err) == -1 &&
	      strstr(err.msg, "has no user name"));
	c.fs_transport = HV_FS_SERIAL; /* no fsdev= word */
	char cmd[512];
	CHECK(hv_fs_cmdline(&c, 0, 0, cmd, sizeof(cmd), &err) == 0 &&
	      !strcmp(cmd, " vmjob.fs=0:/home/root,1:/gpfs/root/scratch"));
	return CHECK_DONE();
}
