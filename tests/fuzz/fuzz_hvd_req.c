/* libFuzzer target: hvd's request parsing (hvd/reqparse.c), the code every
 * local user reaches through the 0666 socket. The input is one request
 * payload; CREATE's full validation and the job-name check run on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/reqparse.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_vmdesc rq;
	struct vj_err err;
	char job[VJ_NAME_SZ];
	if (hv_req_parse_create(data, size, &rq, &err) == 0) {
		/* What the server trusts afterwards must hold. */
		if (!vj_name_valid(rq.job) || !vj_name_valid(rq.image) || rq.cpus < 1 ||
		    rq.cpus > 1024 || rq.mem_mb < 64 || (rq.scratch_mb && rq.scratch_mb < 16) ||
		    strpbrk(rq.cores, "'\"<>& "))
			abort();
	}
	(void)hv_req_parse_job(data, size, job, &err);
	return 0;
}
