/* hvd.conf: defaults, the density knobs, choices and their errors (config.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/config.h"

static int load_conf(const char *text, struct hv_config *c, struct vj_err *err)
{
	char path[] = "/tmp/hvd-conf-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) < 0) {
	}
	close(fd);
	hv_config_defaults(c);
	int rc = hv_config_load(c, path, true, err);
	unlink(path);
	return rc;
}

static void test_config(void)
{
	struct hv_config c;
	struct vj_err err = {0};
	CHECK(load_conf("state_dir = /srv/x\n", &c, &err) == 0);
	CHECK(!strcmp(c.instance, "/srv/x") && c.reap_interval == 60 && c.pin_vcpus &&
	      c.numa == HV_NUMA_PREFERRED && c.disk_cache == HV_CACHE_UNSAFE && c.max_vms == 0);
	CHECK(load_conf("instance = a\nmax_vms = 8\nhost_mem_reserve_mb = 2048\npin_vcpus = no\n"
			"numa = strict\ndisk_cache = none\ndisk_io = native\nreap_interval = 0\n",
			&c, &err) == 0);
	CHECK(!strcmp(c.instance, "a") && c.max_vms == 8 && c.host_mem_reserve_mb == 2048 &&
	      !c.pin_vcpus && c.numa == HV_NUMA_STRICT && c.disk_io == HV_IO_NATIVE &&
	      c.reap_interval == 0);
	CHECK(load_conf("disk_io = native\n", &c, &err) < 0 && strstr(err.msg, "disk_cache"));
	CHECK(load_conf("numa = sometimes\n", &c, &err) < 0 && strstr(err.msg, "off, preferred, strict"));
	CHECK(load_conf("pin_vcpus = 1\n", &c, &err) < 0);
	CHECK(load_conf("max_vms = -1\n", &c, &err) < 0);
	CHECK(c.fs_transport == HV_FS_VIRTIOFS); /* the default */
	CHECK(load_conf("fs_transport = serial\n", &c, &err) == 0 && c.fs_transport == HV_FS_SERIAL);
	CHECK(load_conf("fs_transport = 9p\n", &c, &err) < 0 && strstr(err.msg, "fs_transport") &&
	      strstr(err.msg, "virtiofs, serial"));
}

int main(void)
{
	test_config();
	return CHECK_DONE();
}
