#include "reqparse.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "images/catalogue.h"
#include "base/vmdesc.h"
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
	return get_name(p, len, "job", job, VJ_NAME_SZ, err);
}

int hv_req_parse_create(const void *p, size_t len, struct hv_vmdesc *rq, struct vj_err *err)
{
	return hv_vmdesc_from_kv(p, len, rq, err);
}
