/* --vm-scratch=SIZE: a plain size the way Slurm users write --mem: a whole
 * number with an optional unit K, M, G or T (binary; M when none is given),
 * optionally followed by "B" or "iB". No Slurm symbols here: unit-tested. */
#include <ctype.h>
#include <stdint.h>

#include "vmjob.h"

bool vmjob_parse_size_mb(const char *s, uint64_t *mb)
{
	if (!s || !isdigit((unsigned char)*s))
		return false;
	uint64_t n = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	/* Scale to KiB first, so that K stays exact and nothing overflows. */
	uint64_t kib_per_unit = 1024;
	switch (toupper((unsigned char)*s)) {
	case 'K': kib_per_unit = 1; s++; break;
	case 'M': kib_per_unit = 1024; s++; break;
	case 'G': kib_per_unit = 1024 * 1024; s++; break;
	case 'T': kib_per_unit = 1024ull * 1024 * 1024; s++; break;
	}
	if ((s[0] == 'i' || s[0] == 'I') && (s[1] == 'b' || s[1] == 'B'))
		s += 2;
	else if (s[0] == 'b' || s[0] == 'B')
		s++;
	if (*s)
		return false;
	if (n > VMJOB_SCRATCH_MAX_MB * 1024 / kib_per_unit)
		return false;
	uint64_t kib = n * kib_per_unit;
	*mb = (kib + 1023) / 1024; /* round a KiB size up to whole MiB */
	return *mb >= 1;
}
