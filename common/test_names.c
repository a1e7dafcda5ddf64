/* The one job and image name check (names.c), which hvd and the SPANK
 * plugin both apply. Built with ASan/UBSan (make test). */
#include <string.h>

#include "check.h"
#include "names.h"

int main(void)
{
	CHECK(vj_name_valid("12345"));
	CHECK(vj_name_valid("minimal"));
	CHECK(vj_name_valid("minimal-1.0_x"));
	CHECK(vj_name_valid("deb-12.3_x86"));
	CHECK(!vj_name_valid(""));
	CHECK(!vj_name_valid(".."));
	CHECK(!vj_name_valid("../etc"));
	CHECK(!vj_name_valid("a/b"));
	CHECK(!vj_name_valid("x/y"));
	CHECK(!vj_name_valid("-rf"));
	CHECK(!vj_name_valid("a b"));
	char name[80];
	memset(name, 'a', VJ_NAME_MAX);
	name[VJ_NAME_MAX] = '\0';
	CHECK(vj_name_valid(name)); /* the longest */
	name[VJ_NAME_MAX] = 'a';
	name[VJ_NAME_MAX + 1] = '\0';
	CHECK(!vj_name_valid(name));
	return CHECK_DONE();
}
