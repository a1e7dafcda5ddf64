/* Slurm hands the job's cores as a list string ("0-3,8"); the VM gets one
 * vCPU per allocated core, so all we need is the count. */
#include <ctype.h>
#include <stdlib.h>

#include "vmjob.h"

static int parse_id(const char **p, unsigned long *out)
{
	if (!isdigit((unsigned char)**p))
		return -1;
	char *end;
	*out = strtoul(*p, &end, 10);
	*p = end;
	return 0;
}

long vmjob_cpulist_count(const char *list)
{
	if (!list || !*list)
		return -1;
	long n = 0;
	const char *p = list;
	for (;;) {
		unsigned long a, b;
		if (parse_id(&p, &a) < 0)
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_id(&p, &b) < 0 || b < a)
				return -1;
		}
		if (b - a >= 1u << 20)
			return -1;
		n += (long)(b - a + 1);
		if (*p == '\0')
			return n;
		if (*p != ',')
			return -1;
		p++;
	}
}
