/* A job's memory split between QEMU's overhead and the guest (admit.c). */
#include <string.h>

#include "base/config.h"
#include "check.h"
#include "vm/admit.h"

int main(void)
{
	static struct hv_config cfg;
	hv_config_defaults(&cfg);
	struct vj_err err = {0};
	unsigned g = 0;
	CHECK(cfg.vm_memory_overhead_mb == 128);
	CHECK(hv_guest_mem(&cfg, 512, &g, &err) == 0 && g == 384);
	CHECK(hv_guest_mem(&cfg, 128 + HV_GUEST_MIN_MB, &g, &err) == 0 && g == HV_GUEST_MIN_MB);
	/* too little left: one line with the minimum to ask for */
	CHECK(hv_guest_mem(&cfg, 128 + HV_GUEST_MIN_MB - 1, &g, &err) == -1 &&
	      strstr(err.msg, "ask for 192 MiB or more"));
	cfg.vm_memory_overhead_mb = 0;
	CHECK(hv_guest_mem(&cfg, 256, &g, &err) == 0 && g == 256);
	return CHECK_DONE();
}
