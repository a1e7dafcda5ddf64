#include "reqparse.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "images/catalogue.h"
#include "base/cpuset.h"
#include "kv.h"
#include "names.h"

static int get_name(const void *p, size_t len, const char *key, char *out, size_t outsz,
		    struct vj_err *err)
{
	if (vj_kv_get_str(p, len, key, out, outsz, NULL, err))
		return -1;
	if (!vj_name_valid(out))
		return vj_err_set(err, EINVAL, "invalid %s '%.64s' (allowed: [A-Za-z0-9._-]{1,64})", key,
				  out);
	return 0;
}

int hv_req_parse_job(const void *p, size_t len, char job[VJ_NAME_SZ], struct vj_err *err)
{
	if (vj_kv_validate(p, len, err))
		return -1;
	return get_name(p, len, "job", job, 65, err);
}

int hv_req_parse_create(const void *p, size_t len, struct hv_create_req *rq, struct vj_err *err)
{
	memset(rq, 0, sizeof(*rq));
	uint64_t uid, gid, cpus, mem, scratch = 0;
	if (vj_kv_validate(p, len, err) || get_name(p, len, "job", rq->job, sizeof(rq->job), err) ||
	    get_name(p, len, "image", rq->image, sizeof(rq->image), err) ||
	    vj_kv_get_u64(p, len, "uid", 0, UINT32_MAX - 1, false, &uid, err) ||
	    vj_kv_get_u64(p, len, "gid", 0, UINT32_MAX - 1, false, &gid, err) ||
	    vj_kv_get_u64(p, len, "cpus", 1, 1024, false, &cpus, err) ||
	    vj_kv_get_u64(p, len, "mem_mb", 64, 16u << 20, false, &mem, err) ||
	    vj_kv_get_u64(p, len, "scratch_mb", 16, 16u << 20, true, &scratch, err) ||
	    vj_kv_get_str(p, len, "cores", rq->cores, sizeof(rq->cores), "", err))
		return -1;
	/* The cores go into the domain XML's cpuset and vcpupin: a real list. */
	unsigned list[1024];
	size_t n;
	if (rq->cores[0] && hv_cpulist_parse(rq->cores, list, 1024, &n))
		return vj_err_set(err, EINVAL, "'cores' must be a list like 0-3,8");
	rq->uid = (uid_t)uid;
	rq->gid = (gid_t)gid;
	rq->cpus = (unsigned)cpus;
	rq->mem_mb = (unsigned)mem;
	rq->scratch_mb = scratch;
	return 0;
}
