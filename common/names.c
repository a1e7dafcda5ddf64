#include "names.h"

#include <string.h>

/* Job and image names travel from the user's command line through a root
 * prolog into hvd, and become file, domain and LV names: a plain short
 * token, checked by this one function everywhere. */
bool vj_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > VJ_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
