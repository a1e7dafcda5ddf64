/* Parsing and validating request payloads from hvd's socket: pure functions
 * (no I/O, no globals), so the server and the fuzzer run the same code. */
#ifndef HV_REQPARSE_H
#define HV_REQPARSE_H

#include <stddef.h>

#include "err.h"
#include "base/vmdesc.h"
#include "names.h"

/* CREATE: kv job uid gid cpus mem_mb image [cores] [scratch_mb]. */
int hv_req_parse_create(const void *p, size_t len, struct hv_vmdesc *rq, struct vj_err *err);
/* The `job` field of DESTROY, STATUS, ...: a valid name. */
int hv_req_parse_job(const void *p, size_t len, char job[VJ_NAME_SZ], struct vj_err *err);

#endif
