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
	CHECK(hv_fs_shared(&c, "/home"));
	CHECK(hv_fs_shared(&c, "/home/alice/proj"));
	CHECK(hv_fs_shared(&c, "/srv/shared"));
	CHECK(hv_fs_shared(&c, "/srv/shared/x"));
	CHECK(!hv_fs_shared(&c, "/homes/alice"));
	CHECK(!hv_fs_shared(&c, "/tmp"));
	CHECK(!hv_fs_shared(&c, "/"));
	CHECK(!hv_fs_shared(&c, "home/alice"));
	CHECK(!hv_fs_shared(&c, "/home/../etc"));
	CHECK(!hv_fs_shared(&c, "/home/alice/.."));
	CHECK(!hv_fs_shared(&c, "/home/./alice"));
	CHECK(hv_fs_shared(&c, "/home/alice/..x"));
	c.nexports = 0;
	CHECK(!hv_fs_shared(&c, "/home"));
	return CHECK_DONE();
}
