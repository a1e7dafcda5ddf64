/* Reading back the vmjob metadata element hvd writes into each domain
 * (domain.c): a restarted hvd rebuilds its table from it. The text comes
 * from libvirt, where anyone with libvirt access could have edited it, so it
 * is parsed as untrusted input: every field is checked as a request is. */
#ifndef HV_META_H
#define HV_META_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/config.h"
#include "err.h"
#include "names.h"

struct hv_meta {
	char job[VJ_NAME_SZ], image[VJ_NAME_SZ], cores[128], virt[8];
	char instance[PATH_MAX];
	uid_t uid;
	gid_t gid;
	unsigned cpus, mem_mb;
	uint64_t scratch_mb;
	time_t created;
	long t_image, t_scratch, t_domain, t_agent; /* -1 = absent */
};

/* Parse xml[0..len) (the element as virDomainGetMetadata returns it, with
 * or without a namespace prefix). job, uid, gid and image are required. */
int hv_meta_parse(const char *xml, size_t len, struct hv_meta *m, struct vj_err *err);

/* Does a domain with this metadata belong to the hvd of instance? Metadata
 * written before instances existed names none: such domains belong to the
 * hvd that uses the default state_dir (the one hvd of a production host). */
#define HV_LEGACY_INSTANCE VJ_DEFAULT_STATE_DIR
bool hv_meta_owned(const struct hv_meta *m, const char *instance, const char *default_instance);

#endif
