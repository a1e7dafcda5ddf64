/* hvd: the vmjob hypervisor daemon. Creates and destroys one VM per Slurm
 * job on request and relays commands into them (docs/internals.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vm/adopt.h"
#include "gateway/fswatch.h"
#include "base/config.h"
#include "libvirt/domain.h"
#include "net/bridge.h"
#include "net/netguard.h"
#include "vm/drain.h"
#include "images/fetch.h"
#include "base/fsutil.h"
#include "images/imgcache.h"
#include "base/log.h"
#include "vm/reaper.h"
#include "policy/current.h"
#include "server/server.h"

static void usage(void)
{
	printf("Usage: hvd [OPTION]...\n"
	       "The vmjob hypervisor daemon: runs each Slurm job that asks for a VM image\n"
	       "in its own QEMU/KVM virtual machine.\n\n"
	       "  -c, --config=FILE    configuration file (default %s)\n"
	       "  -f, --foreground     stay in the foreground and log to stderr\n"
	       "  -d, --debug          debug logging (overrides log_level)\n"
	       "  -t, --check-config   read the configuration, report what is wrong, exit\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        the version\n\n"
	       "SIGTERM/SIGINT stop hvd accepting requests; running VMs are left running.\n"
	       "See hvd(8) and hvd.conf(5).\n",
	       VJ_DEFAULT_CONFIG);
}

/* Directories hvd owns. QEMU runs unprivileged under libvirt, so the VM
 * parents are 0711 (traversable, not listable) and the cache 0755 with 0444
 * files: the base images are readable by QEMU without relabelling. */
static int make_dirs(const struct hv_config *cfg, struct vj_err *err)
{
	char p[PATH_MAX + 8];
	if (hv_mkdir_p(cfg->run_dir, 0755, err) || hv_mkdir_p(cfg->state_dir, 0711, err) ||
	    hv_mkdir_p(cfg->cache_dir, 0755, err))
		return -1;
	snprintf(p, sizeof(p), "%s/vm", cfg->run_dir);
	if (hv_mkdir_p(p, 0711, err))
		return -1;
	snprintf(p, sizeof(p), "%s/vm", cfg->state_dir);
	if (hv_mkdir_p(p, 0711, err))
		return -1;
	if (chmod(cfg->cache_dir, 0755) < 0)
		return vj_err_sys(err, errno, "chmod %s", cfg->cache_dir);
	return 0;
}

static int daemonize(const char *pidfile, struct vj_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork");
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return vj_err_sys(err, errno, "chdir /");
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	FILE *f = fopen(pidfile, "we");
	if (!f)
		return vj_err_sys(err, errno, "cannot write %s", pidfile);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = VJ_DEFAULT_CONFIG;
	bool conf_given = false, foreground = false, debug = false, check_only = false;
	static const struct option lo[] = {
		{"config", required_argument, 0, 'c'}, {"foreground", no_argument, 0, 'f'},
		{"debug", no_argument, 0, 'd'},        {"check-config", no_argument, 0, 't'},
		{"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:fdthV", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; conf_given = true; break;
		case 'f': foreground = true; break;
		case 'd': debug = true; break;
		case 't': check_only = true; break;
		case 'h': usage(); return 0;
		case 'V': vj_cli_version("hvd"); return 0;
		default: vj_cli_bad_option("hvd", opt, argv);
		}
	}
	if (optind != argc)
		vj_cli_usage_error("hvd", "unexpected argument '%s'", argv[optind]);
	umask(022);
	hv_log_init(true, LOG_INFO);
	struct hv_config cfg;
	struct vj_err err = {0};
	hv_config_defaults(&cfg);
	if (hv_config_load(&cfg, conf, conf_given, &err)) {
		fprintf(stderr, "hvd: %s\n", err.msg);
		return 1;
	}
	if (hv_policy_reload(cfg.policy, &err)) {
		fprintf(stderr, "hvd: %s\n", err.msg);
		return 1;
	}
	if (check_only) {
		printf("hvd: %s: configuration OK%s%s\n", conf, cfg.policy[0] ? ", policy " : "",
		       cfg.policy);
		return 0;
	}
	if (debug)
		cfg.log_level = LOG_DEBUG;
	hv_log_set_level(cfg.log_level);
	hv_cache_configure(&cfg);

	/* Signals go to a signalfd read by the accept loop; every thread
	 * inherits the blocked mask. A vanished client must not kill hvd. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sigfd < 0) {
		fprintf(stderr, "hvd: signalfd: %s\n", strerror(errno));
		return 1;
	}

	int lfd;
	if (make_dirs(&cfg, &err) || (lfd = hv_server_listen(&cfg, &err)) < 0) {
		fprintf(stderr, "hvd: %s\n", err.msg);
		return 1;
	}
	/* Fork before any library starts threads. */
	if (!foreground) {
		if (daemonize(cfg.pidfile, &err)) {
			fprintf(stderr, "hvd: %s\n", err.msg);
			return 1;
		}
		hv_log_init(false, cfg.log_level);
	}
	if (hv_fetch_global_init(&err) || hv_libvirt_open(cfg.libvirt_uri, &err)) {
		hv_err("%s", err.msg);
		unlink(cfg.socket);
		return 1;
	}
	hv_info("hvd started: socket %s, catalogue %s, libvirt %s, virt_type %s, config %s%s",
		cfg.socket, cfg.catalogue, cfg.libvirt_uri, HV_VIRT_TYPE_WORDS[cfg.virt_type], conf,
		conf_given || access(conf, F_OK) == 0 ? "" : " (absent: defaults)");
	/* Before any guest can start: the network's checks, and this host
	 * closed to guests (network = user or bridge). */
	if (hv_bridge_prepare(&cfg, &err) || hv_netguard_install(&cfg, &err)) {
		hv_err("%s", err.msg);
		unlink(cfg.socket);
		return 1;
	}
	/* Rebuild the view from libvirt and the disk before serving anyone. */
	hv_drain_load(&cfg);
	hv_adopt_all(&cfg);
	hv_reaper_start(&cfg);
	hv_fswatch_start(&cfg);
	hv_server_run(&cfg, lfd, sigfd);
	if (!foreground)
		unlink(cfg.pidfile);
	hv_info("hvd stopped");
	/* Client threads may be mid-request: exit without tearing down shared state. */
	_exit(0);
}
