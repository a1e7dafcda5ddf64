/* hvd.conf: defaults, the density knobs, choices and their errors (config.c). Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/config.h"
#include "base/log.h"

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

/* The guest network: the choice, the resolver, the allowed services. */
static void test_network(void)
{
	struct hv_config c;
	struct vj_err err = {0};
	CHECK(load_conf("# nothing\n", &c, &err) == 0 && c.network == HV_NET_NONE && !c.guest_dns[0]);
	CHECK(load_conf("network = user\nguest_dns = 10.77.0.1\nnetwork_allow = 127.0.0.1:8642\n"
			"network_allow = udp:[::1]:53\n", &c, &err) == 0);
	CHECK(c.network == HV_NET_USER && !strcmp(c.guest_dns, "10.77.0.1") && c.nnet_allow == 2);
	CHECK(!strcmp(c.net_allow[0].addr, "127.0.0.1") && c.net_allow[0].port == 8642 &&
	      !c.net_allow[0].udp);
	CHECK(!strcmp(c.net_allow[1].addr, "::1") && c.net_allow[1].port == 53 && c.net_allow[1].udp);
	CHECK(load_conf("network = bridged\n", &c, &err) < 0 && strstr(err.msg, "none, user, bridge") &&
	      strstr(err.msg, ":1: network:"));
	/* bridge: the site bridge must be named, by a name the kernel takes. */
	CHECK(load_conf("network = bridge\nbridge = br-site\n", &c, &err) == 0 &&
	      c.network == HV_NET_BRIDGE && !strcmp(c.bridge, "br-site") &&
	      c.bridge_filter == HV_BRFILTER_AUTO);
	CHECK(load_conf("network = bridge\n", &c, &err) < 0 && strstr(err.msg, "needs bridge"));
	CHECK(load_conf("bridge = a-name-too-long-for-it\n", &c, &err) < 0 &&
	      strstr(err.msg, "not a network interface name"));
	CHECK(load_conf("bridge = br0;rm\n", &c, &err) < 0);
	CHECK(load_conf("bridge = -br\n", &c, &err) < 0);
	CHECK(load_conf("bridge_filter = clean-traffic\n", &c, &err) == 0 &&
	      c.bridge_filter == HV_BRFILTER_CLEAN);
	CHECK(load_conf("bridge_filter = maybe\n", &c, &err) < 0);
	CHECK(load_conf("\nguest_dns = dns.example\n", &c, &err) < 0 &&
	      strstr(err.msg, "not an IPv4 or IPv6 address") && strstr(err.msg, ":2: guest_dns:"));
	CHECK(load_conf("network_allow = 127.0.0.1\n", &c, &err) < 0 && strstr(err.msg, "ADDRESS:PORT"));
	CHECK(load_conf("network_allow = 127.0.0.1:0\n", &c, &err) < 0);
	CHECK(load_conf("network_allow = host:22\n", &c, &err) < 0);
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

/* The defaults (from the key table) and the files sites already have. */
static void test_compat(void)
{
	struct hv_config c;
	struct vj_err err = {0};
	hv_config_defaults(&c);
	CHECK(!strcmp(c.socket, VJ_DEFAULT_SOCKET) && !strcmp(c.libvirt_uri, "qemu:///system") &&
	      !strcmp(c.catalogue, "http://127.0.0.1:8642/catalogue.conf") && c.boot_timeout == 60 &&
	      c.probe_timeout == 15 && c.default_scratch_mb == 1024 && c.log_level == LOG_INFO &&
	      !strcmp(c.slurm_user, "root") && c.host_mem_reserve_mb == 1024 &&
	      c.scratch_backend == HV_SCRATCH_FILE && c.network == HV_NET_NONE && !c.scratch_vg[0]);
	/* Comments after values, indentation, blank lines, CRLF. */
	CHECK(load_conf("  boot_timeout = 30   # seconds\r\n\n\tmax_vms=4\n", &c, &err) == 0 &&
	      c.boot_timeout == 30 && c.max_vms == 4);
	CHECK(load_conf("max_vms = 1\nbogus = 2\n", &c, &err) < 0 && strstr(err.msg, ":2: unknown key 'bogus'"));
	CHECK(load_conf("max_vms = 1\nmax_vms\n", &c, &err) < 0 && strstr(err.msg, ":2: expected"));
	CHECK(load_conf("boot_timeout = 0\n", &c, &err) < 0 && strstr(err.msg, ":1: boot_timeout: '0' is not a number in [1, 3600]"));
	/* A long path (more than inih's 200-byte line) is read whole. */
	char text[1200], want[1100];
	memset(want, 'd', 1000);
	want[0] = '/';
	want[1000] = '\0';
	snprintf(text, sizeof(text), "state_dir = %s\n", want);
	CHECK(load_conf(text, &c, &err) == 0 && !strcmp(c.state_dir, want));
	/* The shipped examples load. */
	CHECK((hv_config_defaults(&c), hv_config_load(&c, "etc/hvd.conf", true, &err) == 0));
	CHECK((hv_config_defaults(&c), hv_config_load(&c, "tests/cluster/hvd.conf", true, &err) == 0));
	CHECK((hv_config_defaults(&c), hv_config_load(&c, "/nonexistent/hvd.conf", false, &err) == 0));
	CHECK(hv_config_load(&c, "/nonexistent/hvd.conf", true, &err) < 0 && strstr(err.msg, "cannot open"));
}

/* A file's whole text (the test runs from the top of the tree). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Every key hvd reads is documented: in the example file (as `#key =` or
 * `key =`) and in hvd.conf(5) (as its own `.B key` entry). */
static void test_documented(void)
{
	char *ex = slurp("etc/hvd.conf");
	CHECK(ex != NULL);
	char want[160];
	for (size_t i = 0; ex && hv_config_key(i); i++) {
		snprintf(want, sizeof(want), "\n#%s = ", hv_config_key(i));
		char alt[160];
		snprintf(alt, sizeof(alt), "\n%s = ", hv_config_key(i));
		if (!strstr(ex, want) && !strstr(ex, alt)) {
			fprintf(stderr, "etc/hvd.conf does not show key %s\n", hv_config_key(i));
			CHECK(0);
		}
	}
	char *man = slurp("man/hvd.conf.5");
	CHECK(man != NULL);
	for (size_t i = 0; man && hv_config_key(i); i++) {
		snprintf(want, sizeof(want), "\n.B %s\n", hv_config_key(i));
		if (!strstr(man, want)) {
			fprintf(stderr, "man/hvd.conf.5 has no '.B %s' entry\n", hv_config_key(i));
			CHECK(0);
		}
	}
	CHECK(hv_config_key(0) && !hv_config_key(1000));
}

/* Per-user exports: %u and %g as whole components only. */
static void test_export_templates(void)
{
	struct hv_config c;
	struct vj_err err = {0};
	CHECK(load_conf("export = /home/%u\nexport = /gpfs/%g\n", &c, &err) == 0 && c.nexports == 2);
	CHECK(load_conf("export = /home/x%u\n", &c, &err) == -1 && strstr(err.msg, "whole path component"));
	CHECK(load_conf("export = /home/%s\n", &c, &err) == -1 && strstr(err.msg, "no other %"));
	CHECK(load_conf("export = /home/%u\nexport = /home\n", &c, &err) == -1 && strstr(err.msg, "overlaps"));
}

int main(void)
{
	test_documented();
	test_export_templates();
	test_compat();
	test_config();
	test_network();
	return CHECK_DONE();
}
