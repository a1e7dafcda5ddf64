/* CREATE and job-name request validation (reqparse.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kv.h"
#include "names.h"
#include "server/reqparse.h"

static void test_create_req(void)
{
	struct vj_kvbuf kv;
	struct hv_vmdesc rq;
	struct vj_err err = {0};
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "job", "12");
	vj_kv_add_str(&kv, "uid", "1000");
	vj_kv_add_str(&kv, "gid", "1000");
	vj_kv_add_str(&kv, "cpus", "2");
	vj_kv_add_str(&kv, "mem_mb", "1024");
	vj_kv_add_str(&kv, "image", "minimal");
	size_t base = kv.len;
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) == 0 && rq.cpus == 2 &&
	      rq.mem_mb == 1024 && rq.cores[0] == '\0' && rq.scratch_mb == 0);
	vj_kv_add_str(&kv, "cores", "0-1");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) == 0 && !strcmp(rq.cores, "0-1"));
	kv.len = base;
	vj_kv_add_str(&kv, "cores", "1-0");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0 && strstr(err.msg, "cores"));
	kv.len = base;
	vj_kv_add_str(&kv, "cores", "0-1'");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0);
	kv.len = base;
	vj_kv_add_str(&kv, "cores", "0-1\n<"); /* the sysfs parser stops at a newline */
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0 && strstr(err.msg, "cores"));
	kv.len = base;
	vj_kv_add_str(&kv, "scratch_mb", "8");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0 && strstr(err.msg, "scratch_mb"));
	kv.len = base;
	vj_kv_add_str(&kv, "scratch_mb", "2048");
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) == 0 && rq.scratch_mb == 2048 &&
	      rq.t_image == -1 && !rq.virt[0]);
	kv.len = base - 1; /* truncated entry */
	CHECK(hv_req_parse_create(kv.data, kv.len, &rq, &err) < 0);
	vj_kv_free(&kv);
	char job[VJ_NAME_SZ];
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "job", "a/b");
	CHECK(hv_req_parse_job(kv.data, kv.len, job, &err) < 0);
	vj_kv_free(&kv);
}

int main(void)
{
	test_create_req();
	return CHECK_DONE();
}
