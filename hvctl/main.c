/* hvctl: admin CLI for hvd. Every request goes through client/ (hvctl_call,
 * call.c); `exec` relays a command with client/'s relay, as vmexec does.
 * This file: the global options, the help and the VM verbs. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "cleanup.h"
#include "cli.h"
#include "frame.h"
#include "hvctl.h"
#include "images.h"
#include "json.h"
#include "kv.h"

/* The VM verbs' help, one entry each: `hvctl --help` lists them all,
 * `hvctl VERB --help` and `hvctl help VERB` print one. */
static const struct {
	const char *name, *text;
} core_verbs[] = {
	{"list", "  list                      the VMs hvd knows: job, owner, image, state, age\n"
		 "                            (root or slurm_user; see also vms)\n"},
	{"status", "  status JOB [--json]       all fields of the VM of JOB, with its phase times\n"
		   "                            (the VM's owner, root or slurm_user)\n"},
	{"create", "  create JOB -i IMAGE [-u UID] [-g GID] [-c CPUS] [-m MEM_MB]\n"
		   "         [--cores LIST] [--scratch MB]\n"
		   "                            create a VM for JOB, as the SPANK plugin does (root\n"
		   "                            or hvd.conf's slurm_user);\n"
		   "                            defaults: uid/gid of the caller, 1 cpu, 512 MiB;\n"
		   "                            --cores: host cores to pin the vCPUs to (e.g. 0-1);\n"
		   "                            refused with a reason if the host is drained, full\n"
		   "                            (max_vms) or short of memory (host_mem_reserve_mb)\n"},
	{"destroy", "  destroy JOB               destroy the VM of JOB and everything it used (root\n"
		    "                            or slurm_user)\n"},
	{"exec", "  exec [-t] [-C DIR] [-e K=V]... JOB -- CMD [ARG]...\n"
		 "                            run CMD in the VM of JOB as yourself and relay its\n"
		 "                            stdio; -t: with a pseudo-terminal; -C: working\n"
		 "                            directory (default: the current one); -e: environment.\n"
		 "                            Exit status: the command's, 128+N if killed by N.\n"},
	{"help", "  help [VERB]               this help, or one verb's\n"},
};

static const char *core_help(const char *verb)
{
	for (size_t i = 0; i < sizeof(core_verbs) / sizeof(core_verbs[0]); i++)
		if (!strcmp(verb, core_verbs[i].name))
			return core_verbs[i].text;
	return NULL;
}

/* -h/--help among a verb's own arguments (for exec, before the command). */
static bool asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

void hvctl_usage(FILE *f)
{
	fprintf(f,
		"Usage: hvctl [-s SOCKET] COMMAND [ARGS]\n"
		"Administer the vmjob hypervisor daemon (hvd) on this node.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(core_verbs) / sizeof(core_verbs[0]); i++)
		fputs(core_verbs[i].text, f);
	hvctl_images_usage(f);
	hvctl_admin_usage(f);
	fprintf(f,
		"\nOptions:\n"
		"  -s, --socket=SOCKET       hvd's socket (default %s, or $VMJOB_SOCKET)\n"
		"  -h, --help                this help (hvctl VERB --help: one verb's)\n"
		"  -V, --version             the version\n"
		"vms, status, images, catalogue and metrics take --json: one JSON document\n"
		"(docs/hvctl-json.md). See hvctl(8).\n",
		hvctl_socket);
}

/* Print every key=value of a reply, one per line. */
static void print_kv(const struct vj_frame *f, const char *only)
{
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0) {
		if (only) {
			if (vj_kv_key_is(&e, only))
				printf("%.*s\n", (int)e.vlen, (const char *)e.val);
			continue;
		}
		printf("%.*s=%.*s\n", (int)e.klen, e.key, (int)e.vlen, (const char *)e.val);
	}
}

static int cmd_simple(uint16_t type, const char *job, const char *only)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (job)
		vj_kv_add_str(&kv, "job", job);
	struct vj_frame reply;
	if (hvctl_call(type, &kv, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	if (type == VJ_REQ_LIST && vj_kv_count(reply.payload, reply.len, "vm") == 0)
		printf("no VMs\n");
	print_kv(&reply, only);
	return 0;
}

/* status --json: the reply's fields, numbers as numbers. */
static int cmd_status_json(const char *job)
{
	static const char *const ints[] = {"uid", "gid", "cpus", "mem_mb", "scratch_mb",
					   "t_image", "t_scratch", "t_domain", "t_agent", "age", NULL};
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "job", job);
	struct vj_frame reply;
	if (hvctl_call(VJ_REQ_STATUS, &kv, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	return hvctl_json_print(hvctl_json_from_kv(&reply, ints));
}

static int cmd_status(int argc, char **argv)
{
	bool json = hvctl_json_flag(&argc, argv);
	const char *job = hvctl_need_job(argc, argv, 1, "status");
	if (argc > 2)
		hvctl_usage_error("status", "unexpected argument '%s'", argv[2]);
	return json ? cmd_status_json(job) : cmd_simple(VJ_REQ_STATUS, job, NULL);
}

const char *hvctl_need_job(int argc, char **argv, int i, const char *verb)
{
	if (i >= argc || argv[i][0] == '-')
		hvctl_usage_error(verb, "missing JOB");
	return argv[i];
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, 'i'}, {"uid", required_argument, 0, 'u'},
		{"gid", required_argument, 0, 'g'},   {"cpus", required_argument, 0, 'c'},
		{"mem", required_argument, 0, 'm'},   {"cores", required_argument, 0, 'C'},
		{"scratch", required_argument, 0, 'S'}, {0, 0, 0, 0}};
	const char *image = NULL, *cores = NULL, *scratch = NULL;
	char uid[16], gid[16];
	const char *cpus = "1", *mem = "512";
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	int o;
	optind = 0; /* 0, not 1: glibc starts afresh (main parsed with "+", which would stick) */
	while ((o = getopt_long(argc, argv, ":i:u:g:c:m:", opts, NULL)) != -1) {
		switch (o) {
		case 'i': image = optarg; break;
		case 'u': snprintf(uid, sizeof(uid), "%s", optarg); break;
		case 'g': snprintf(gid, sizeof(gid), "%s", optarg); break;
		case 'c': cpus = optarg; break;
		case 'm': mem = optarg; break;
		case 'C': cores = optarg; break;
		case 'S': scratch = optarg; break;
		default: vj_cli_bad_option("hvctl create", o, argv);
		}
	}
	const char *job = hvctl_need_job(argc, argv, optind, "create");
	if (!image)
		hvctl_usage_error("create", "-i IMAGE is required");
	if (optind + 1 < argc)
		hvctl_usage_error("create", "unexpected argument '%s'", argv[optind + 1]);
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "job", job);
	vj_kv_add_str(&kv, "uid", uid);
	vj_kv_add_str(&kv, "gid", gid);
	vj_kv_add_str(&kv, "cpus", cpus);
	vj_kv_add_str(&kv, "mem_mb", mem);
	vj_kv_add_str(&kv, "image", image);
	if (cores)
		vj_kv_add_str(&kv, "cores", cores);
	if (scratch)
		vj_kv_add_str(&kv, "scratch_mb", scratch);
	struct vj_frame reply;
	if (hvctl_call(VJ_REQ_CREATE, &kv, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	print_kv(&reply, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *env_sock = getenv("VMJOB_SOCKET");
	if (env_sock && *env_sock)
		hvctl_socket = env_sock;
	static const struct option lo[] = {
		{"socket", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},      {0, 0, 0, 0},
	};
	int o;
	opterr = 0;
	/* '+': options up to the verb are hvctl's; the verb parses the rest. */
	while ((o = getopt_long(argc, argv, "+:s:hV", lo, NULL)) != -1) {
		switch (o) {
		case 's': hvctl_socket = optarg; break;
		case 'h': hvctl_usage(stdout); return 0;
		case 'V': vj_cli_version("hvctl"); return 0;
		default: vj_cli_bad_option("hvctl", o, argv);
		}
	}
	int i = optind;
	if (i >= argc)
		vj_cli_usage_error("hvctl", "no command");
	signal(SIGPIPE, SIG_IGN);
	const char *verb = argv[i];
	int vargc = argc - i;
	char **vargv = argv + i;
	const char *one = core_help(verb);
	if (one && (asks_help(vargc, vargv) || (!strcmp(verb, "help") && vargc > 1))) {
		const char *which = verb;
		if (!strcmp(verb, "help") && strcmp(vargv[1], "-h") && strcmp(vargv[1], "--help"))
			which = vargv[1];
		if (!core_help(which)) {
			/* The image and host verbs print their own help. */
			char *hv[] = {(char *)which, "--help", NULL};
			if (hvctl_images_verb(which))
				return hvctl_images_main(2, hv);
			if (hvctl_admin_verb(which))
				return hvctl_admin_main(2, hv);
			vj_cli_usage_error("hvctl", "unknown command '%s'", which);
		}
		printf("Usage: hvctl [-s SOCKET] %s\n%s", which, core_help(which));
		return 0;
	}
	if (!strcmp(verb, "list")) {
		if (vargc > 1)
			hvctl_usage_error(verb, "unexpected argument '%s'", vargv[1]);
		return cmd_simple(VJ_REQ_LIST, NULL, "vm");
	}
	if (!strcmp(verb, "status"))
		return cmd_status(vargc, vargv);
	if (!strcmp(verb, "destroy")) {
		if (vargc > 2)
			hvctl_usage_error(verb, "unexpected argument '%s'", vargv[2]);
		return cmd_simple(VJ_REQ_DESTROY, hvctl_need_job(vargc, vargv, 1, verb), NULL);
	}
	if (!strcmp(verb, "create"))
		return cmd_create(vargc, vargv);
	if (!strcmp(verb, "exec"))
		return hvctl_exec_main(vargc, vargv);
	if (hvctl_images_verb(verb))
		return hvctl_images_main(vargc, vargv);
	if (hvctl_admin_verb(verb))
		return hvctl_admin_main(vargc, vargv);
	if (!strcmp(verb, "help")) {
		hvctl_usage(stdout);
		return 0;
	}
	vj_cli_usage_error("hvctl", "unknown command '%s'", verb);
}
