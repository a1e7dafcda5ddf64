/* Image names travel from the user's command line to a root epilog, into
 * hvd's catalogue lookup and into file names: allow only a plain, short
 * token, checked the same way everywhere. */
#include <string.h>

#include "vmjob.h"

bool vmjob_image_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > VMJOB_IMAGE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}
