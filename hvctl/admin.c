#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"
#include "cli.h"
#include "hvctl.h"
#include "json.h"
#include "kv.h"
#include "base/owner.h"
#include "names.h"
#include "policy/policy.h"

/* One help text per verb: `hvctl VERB --help` prints it, `hvctl --help`
 * prints the first lines of each. */
static const struct verb {
	const char *name, *synopsis, *help;
} verbs[] = {
	{"vms", "vms [--json]",
	 "every VM hvd has: job, user, image, state, virt, age,\n"
	 "CPUs, memory and the phase times of its start-up (s:\n"
	 "image ready, scratch ready, domain started, agent ready,\n"
	 "each counted from the CREATE's arrival); and the host's\n"
	 "drain state and memory admission figures\n"},
	{"drain", "drain [REASON]",
	 "refuse new VMs (CREATE gets 'host drained: REASON');\n"
	 "running VMs stay. Kept in state_dir/drained, so it\n"
	 "survives a restart of hvd (root)\n"},
	{"resume", "resume", "accept new VMs again after a drain (root)\n"},
	{"cpu", "cpu [-i|--interval=SECONDS]",
	 "CPU use of each VM sampled over SECONDS (default 5):\n"
	 "cores busy on average and the share of its vCPUs\n"},
	{"policy", "policy [--json] | policy check --user=U --partition=P [--account=A] [--qos=Q] [--group=G]... [--image=I] [--file=POLICY] [--json]",
	 "the site policy hvd applies (hvd.conf policy): its\n"
	 "rules in order; the first that matches a job decides.\n"
	 "check: what it decides for such a job: VM or not,\n"
	 "which image, and the rule (file:line) that decides;\n"
	 "exit 1 with the refusal if the image is not allowed;\n"
	 "--file: decide from that file here, without hvd (groups\n"
	 "from this host's user database unless given)\n"},
	{"metrics", "metrics [-o|--output=FILE] [--json]",
	 "hvd's state in Prometheus text format (--json: the same\n"
	 "figures as one JSON document). With -o, written\n"
	 "atomically (temporary file, then rename) for\n"
	 "node_exporter's textfile collector, e.g.\n"
	 "-o /var/lib/node_exporter/textfile/vmjob.prom from cron.\n"
	 "If hvd does not answer, vmjob_hvd_up is 0 (exit 1)\n"},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

void hvctl_admin_usage(FILE *f)
{
	for (size_t i = 0; i < NVERBS; i++) {
		fprintf(f, "  %-26s", verbs[i].synopsis);
		/* The help is pre-wrapped at 56 columns; indent its lines. */
		const char *p = verbs[i].help;
		bool first = true;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			fprintf(f, "%s%.*s\n", first ? (strlen(verbs[i].synopsis) > 24 ? "\n                            " : "") : "                            ", (int)n, p);
			first = false;
			p += n + (nl ? 1 : 0);
		}
	}
}

bool hvctl_admin_verb(const char *verb)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verb, verbs[i].name))
			return true;
	return false;
}

static void verb_help(const char *verb, FILE *f)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verb, verbs[i].name))
			fprintf(f, "Usage: hvctl [-s SOCKET] %s\n\n%s", verbs[i].synopsis, verbs[i].help);
}

/* ---- the VMS reply ---- */

struct vmrec {
	char job[VJ_NAME_SZ], image[VJ_NAME_SZ], state[16], virt[8], user[64];
	unsigned uid, cpus, mem_mb;
	long long age;
	long t[4]; /* -1 = unknown */
	bool has_cpu;
	unsigned long long cpu_ns, mem_kib;
};

/* The VMS reply, parsed; host_load fills it, host_free releases it. */
struct host {
	unsigned drained, max_vms, vms;
	char drain_reason[256];
	char virt[8], virt_reason[512]; /* "" until hvd has decided (first CREATE) */
	unsigned long long mem_mb, reserve_mb, vm_mem_mb;
	struct vmrec *vm;
	size_t n;
};

static void host_free(struct host *h)
{
	free(h->vm);
	h->vm = NULL;
}
#define cleanup_host __attribute__((cleanup(host_free)))

static const char *const phases[4] = {"image", "scratch", "domain", "agent"};

/* "k=v k=v ..." from hvd (names are [A-Za-z0-9._-]: no spaces). */
static void parse_rec(const char *s, size_t len, struct vmrec *v)
{
	memset(v, 0, sizeof(*v));
	v->t[0] = v->t[1] = v->t[2] = v->t[3] = -1;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(tok, "job")) snprintf(v->job, sizeof(v->job), "%s", eq);
		else if (!strcmp(tok, "image")) snprintf(v->image, sizeof(v->image), "%s", eq);
		else if (!strcmp(tok, "state")) snprintf(v->state, sizeof(v->state), "%s", eq);
		else if (!strcmp(tok, "virt")) snprintf(v->virt, sizeof(v->virt), "%s", eq);
		else if (!strcmp(tok, "uid")) v->uid = (unsigned)strtoul(eq, NULL, 10);
		else if (!strcmp(tok, "cpus")) v->cpus = (unsigned)strtoul(eq, NULL, 10);
		else if (!strcmp(tok, "mem_mb")) v->mem_mb = (unsigned)strtoul(eq, NULL, 10);
		else if (!strcmp(tok, "age")) v->age = strtoll(eq, NULL, 10);
		else if (!strcmp(tok, "cpu_ns")) v->cpu_ns = strtoull(eq, NULL, 10), v->has_cpu = true;
		else if (!strcmp(tok, "mem_kib")) v->mem_kib = strtoull(eq, NULL, 10);
		else
			for (int i = 0; i < 4; i++)
				if (!strncmp(tok, "t_", 2) && !strcmp(tok + 2, phases[i]))
					v->t[i] = strtol(eq, NULL, 10);
	}
	struct passwd *pw = getpwuid(v->uid);
	if (pw)
		snprintf(v->user, sizeof(v->user), "%s", pw->pw_name);
	else
		snprintf(v->user, sizeof(v->user), "%u", v->uid);
}

static unsigned long long get_num(const struct vj_frame *f, const char *key)
{
	uint64_t v = 0;
	vj_kv_get_u64(f->payload, f->len, key, 0, UINT64_MAX, true, &v, NULL);
	return v;
}

/* Ask hvd for VMS: 0, or -1 after hvctl_call said why (h is then empty). */
static int host_load(struct host *h)
{
	memset(h, 0, sizeof(*h));
	struct vj_frame f;
	if (hvctl_call(VJ_REQ_VMS, NULL, HVCTL_ADMIN_TIMEOUT_MS, &f) < 0)
		return -1;
	cleanup_free uint8_t *payload = f.payload;
	h->drained = (unsigned)get_num(&f, "drained");
	h->max_vms = (unsigned)get_num(&f, "max_vms");
	h->vms = (unsigned)get_num(&f, "vms");
	h->mem_mb = get_num(&f, "host_mem_mb");
	h->reserve_mb = get_num(&f, "host_mem_reserve_mb");
	h->vm_mem_mb = get_num(&f, "vm_mem_mb");
	vj_kv_get_str(f.payload, f.len, "drain_reason", h->drain_reason, sizeof(h->drain_reason), "",
		      NULL);
	vj_kv_get_str(f.payload, f.len, "virt", h->virt, sizeof(h->virt), "", NULL);
	vj_kv_get_str(f.payload, f.len, "virt_reason", h->virt_reason, sizeof(h->virt_reason), "", NULL);
	long n = vj_kv_count(f.payload, f.len, "vm");
	h->vm = calloc(n > 0 ? (size_t)n : 1, sizeof(*h->vm));
	if (!h->vm)
		hvctl_die("out of memory");
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f.payload, f.len);
	while (vj_kv_next(&it, &e) > 0)
		if (vj_kv_key_is(&e, "vm") && h->n < (size_t)n)
			parse_rec((const char *)e.val, e.vlen, &h->vm[h->n++]);
	return 0;
}

static void fmt_ms(long ms, char *out, size_t sz)
{
	if (ms < 0)
		snprintf(out, sz, "-");
	else
		snprintf(out, sz, "%.1f", ms / 1000.0);
}

/* The JSON of one VM and of the host (docs/hvctl-json.md). */
static json_t *vm_json(const struct vmrec *v)
{
	json_t *ph = json_object();
	for (int k = 0; ph && k < 4; k++)
		json_object_set_new(ph, phases[k], v->t[k] >= 0 ? json_real(v->t[k] / 1000.0) : json_null());
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "job", v->job,
			 "user", v->user, "uid", (json_int_t)v->uid, "image", v->image, "state",
			 v->state, "virt", v->virt, "age_s", (json_int_t)v->age, "cpus",
			 (json_int_t)v->cpus, "mem_mb", (json_int_t)v->mem_mb, "cpu_seconds",
			 v->has_cpu ? json_real(v->cpu_ns / 1e9) : json_null(), "phases_s", ph);
}

static json_t *host_json(const struct host *h)
{
	json_t *vms = json_array();
	for (size_t i = 0; vms && i < h->n; i++)
		if (json_array_append_new(vms, vm_json(&h->vm[i])) < 0) {
			json_decref(vms);
			return NULL;
		}
	return json_pack("{s:{s:I, s:I, s:b, s:o, s:I, s:I, s:I, s:o, s:o}, s:o}", "host", "vms",
			 (json_int_t)h->vms, "max_vms", (json_int_t)h->max_vms, "drained", (int)h->drained,
			 "drain_reason", h->drained ? json_string(h->drain_reason) : json_null(),
			 "memory_mb", (json_int_t)h->mem_mb, "memory_reserve_mb", (json_int_t)h->reserve_mb,
			 "vm_memory_mb", (json_int_t)h->vm_mem_mb,
			 "virt", h->virt[0] ? json_string(h->virt) : json_null(),
			 "virt_reason", h->virt[0] ? json_string(h->virt_reason) : json_null(), "vms", vms);
}

static int cmd_vms(bool json)
{
	cleanup_host struct host h;
	if (host_load(&h) < 0)
		return 1;
	if (json)
		return hvctl_json_print(host_json(&h));
	char limit[32] = "no limit";
	if (h.max_vms)
		snprintf(limit, sizeof(limit), "%u", h.max_vms);
	printf("host: %u VM(s) (max_vms %s), %llu MiB of %llu MiB given to VMs (reserve %llu MiB)%s%s%s\n",
	       h.vms, limit, h.vm_mem_mb, h.mem_mb, h.reserve_mb, h.drained ? "; DRAINED" : "",
	       h.drained && h.drain_reason[0] ? ": " : "", h.drained ? h.drain_reason : "");
	if (h.virt[0])
		printf("virtualisation: %s (%s)\n", !strcmp(h.virt, "kvm") ? "KVM" : "TCG", h.virt_reason);
	else
		printf("virtualisation: not decided yet (the KVM probe runs at the first VM's start)\n");
	if (!h.n) {
		printf("no VMs\n");
		return 0;
	}
	printf("%-12s %-10s %-14s %-10s %-4s %8s %4s %6s %7s %7s %7s %7s\n", "JOB", "USER", "IMAGE",
	       "STATE", "VIRT", "AGE", "CPUS", "MEM", "IMAGE_S", "SCRTCH_S", "DOMN_S", "AGENT_S");
	for (size_t i = 0; i < h.n; i++) {
		struct vmrec *v = &h.vm[i];
		char t[4][16];
		for (int k = 0; k < 4; k++)
			fmt_ms(v->t[k], t[k], sizeof(t[k]));
		printf("%-12s %-10s %-14s %-10s %-4s %7llds %4u %5uM %7s %8s %7s %7s\n", v->job, v->user,
		       v->image, v->state, v->virt, v->age, v->cpus, v->mem_mb, t[0], t[1], t[2], t[3]);
	}
	printf("(phase times: seconds from the CREATE's arrival until image, scratch, domain and agent were ready)\n");
	return 0;
}

static int cmd_drain(int argc, char **argv, bool drain)
{
	char reason[200] = "";
	for (int i = 1; drain && i < argc; i++)
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "%s%s",
			 i > 1 ? " " : "", argv[i]);
	if (!drain && argc > 1)
		hvctl_usage_error("resume", "unexpected argument '%s'", argv[1]);
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (reason[0])
		vj_kv_add_str(&kv, "reason", reason);
	if (hvctl_call(drain ? VJ_REQ_DRAIN : VJ_REQ_RESUME, &kv, HVCTL_ADMIN_TIMEOUT_MS, NULL) < 0)
		return 1;
	printf(drain ? "drained: new VMs are refused; running VMs stay\n"
		     : "resumed: new VMs are accepted\n");
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmd_cpu(int argc, char **argv)
{
	static const struct option opts[] = {{"interval", required_argument, 0, 'i'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	double interval = 5;
	int o;
	optind = 0; /* 0, not 1: glibc starts afresh (main parsed with "+", which would stick) */
	while ((o = getopt_long(argc, argv, ":i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'i': {
			char *end;
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.1 && interval <= 3600))
				hvctl_usage_error("cpu", "--interval wants seconds in [0.1, 3600], not '%s'", optarg);
			break;
		}
		case 'h': verb_help("cpu", stdout); return 0;
		default: vj_cli_bad_option("hvctl cpu", o, argv);
		}
	}
	if (optind < argc)
		hvctl_usage_error("cpu", "unexpected argument '%s'", argv[optind]);
	cleanup_host struct host a;
	cleanup_host struct host b = {0};
	if (host_load(&a) < 0)
		return 1;
	long long t0 = now_ns();
	struct timespec ts = {(time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
	nanosleep(&ts, NULL);
	if (host_load(&b) < 0)
		return 1;
	double secs = (double)(now_ns() - t0) / 1e9;
	printf("CPU use over %.1f s\n", secs);
	printf("%-12s %-10s %-10s %4s %8s %9s\n", "JOB", "USER", "STATE", "CPUS", "CORES", "OF_VCPUS");
	if (!b.n)
		printf("no VMs\n");
	for (size_t i = 0; i < b.n; i++) {
		struct vmrec *v = &b.vm[i], *old = NULL;
		for (size_t k = 0; k < a.n; k++)
			if (!strcmp(a.vm[k].job, v->job))
				old = &a.vm[k];
		if (!old || !old->has_cpu || !v->has_cpu || v->cpu_ns < old->cpu_ns) {
			printf("%-12s %-10s %-10s %4u %8s %9s\n", v->job, v->user, v->state, v->cpus, "-", "-");
			continue;
		}
		double cores = (double)(v->cpu_ns - old->cpu_ns) / 1e9 / secs;
		printf("%-12s %-10s %-10s %4u %8.2f %8.0f%%\n", v->job, v->user, v->state, v->cpus, cores,
		       v->cpus ? 100.0 * cores / v->cpus : 0.0);
	}
	return 0;
}

/* Prometheus label values: backslash, quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void vm_labels(FILE *f, const struct vmrec *v)
{
	fputs("{job=\"", f);
	label(f, v->job);
	fputs("\",user=\"", f);
	label(f, v->user);
	fputs("\",image=\"", f);
	label(f, v->image);
	fputs("\"", f);
}

static void metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_metrics(FILE *f, const struct host *h, bool up)
{
	metric_head(f, "vmjob_hvd_up", "gauge", "1 if hvd answered the metrics request");
	fprintf(f, "vmjob_hvd_up %d\n", up);
	if (!up)
		return;
	metric_head(f, "vmjob_host_drained", "gauge", "1 if the host refuses new VMs (hvctl drain)");
	fprintf(f, "vmjob_host_drained %u\n", h->drained);
	metric_head(f, "vmjob_host_max_vms", "gauge", "max_vms from hvd.conf (0 = no limit)");
	fprintf(f, "vmjob_host_max_vms %u\n", h->max_vms);
	metric_head(f, "vmjob_host_memory_bytes", "gauge", "host memory");
	fprintf(f, "vmjob_host_memory_bytes %llu\n", h->mem_mb << 20);
	metric_head(f, "vmjob_host_memory_reserve_bytes", "gauge",
		    "memory never given to VMs (host_mem_reserve_mb)");
	fprintf(f, "vmjob_host_memory_reserve_bytes %llu\n", h->reserve_mb << 20);
	metric_head(f, "vmjob_vms_memory_bytes", "gauge", "memory committed to VMs");
	fprintf(f, "vmjob_vms_memory_bytes %llu\n", h->vm_mem_mb << 20);
	metric_head(f, "vmjob_vms", "gauge", "VMs by state");
	static const char *const states[] = {"booting", "ready", "stopped", "destroying"};
	for (size_t s = 0; s < 4; s++) {
		unsigned n = 0;
		for (size_t i = 0; i < h->n; i++)
			n += !strcmp(h->vm[i].state, states[s]);
		fprintf(f, "vmjob_vms{state=\"%s\"} %u\n", states[s], n);
	}
	metric_head(f, "vmjob_vm_cpu_seconds_total", "counter",
		    "CPU time used by the VM (all vCPUs and QEMU's own threads)");
	for (size_t i = 0; i < h->n; i++)
		if (h->vm[i].has_cpu) {
			fputs("vmjob_vm_cpu_seconds_total", f);
			vm_labels(f, &h->vm[i]);
			fprintf(f, "} %.3f\n", h->vm[i].cpu_ns / 1e9);
		}
	metric_head(f, "vmjob_vm_memory_bytes", "gauge", "memory given to the VM");
	for (size_t i = 0; i < h->n; i++) {
		fputs("vmjob_vm_memory_bytes", f);
		vm_labels(f, &h->vm[i]);
		fprintf(f, "} %llu\n", (unsigned long long)h->vm[i].mem_mb << 20);
	}
	metric_head(f, "vmjob_vm_vcpus", "gauge", "vCPUs of the VM");
	for (size_t i = 0; i < h->n; i++) {
		fputs("vmjob_vm_vcpus", f);
		vm_labels(f, &h->vm[i]);
		fprintf(f, "} %u\n", h->vm[i].cpus);
	}
	metric_head(f, "vmjob_vm_age_seconds", "gauge", "time since the VM's CREATE");
	for (size_t i = 0; i < h->n; i++) {
		fputs("vmjob_vm_age_seconds", f);
		vm_labels(f, &h->vm[i]);
		fprintf(f, "} %lld\n", h->vm[i].age);
	}
	metric_head(f, "vmjob_vm_phase_seconds", "gauge",
		    "start-up phase end, seconds after the CREATE arrived (image, scratch, domain, agent)");
	for (size_t i = 0; i < h->n; i++)
		for (int k = 0; k < 4; k++)
			if (h->vm[i].t[k] >= 0) {
				fputs("vmjob_vm_phase_seconds", f);
				vm_labels(f, &h->vm[i]);
				fprintf(f, ",phase=\"%s\"} %.3f\n", phases[k], h->vm[i].t[k] / 1000.0);
			}
}

/* The collector may read at any moment: it sees the old file or the new
 * one, never half of one (a temporary file, then rename). 0, or -1 with err
 * set (and no temporary file left). */
static int write_atomically(const char *out, const struct host *h, bool up, struct vj_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >= (int)sizeof(tmp))
		return vj_err_set(err, ENAMETOOLONG, "output path too long");
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot create %s", tmp);
	cleanup_fclose FILE *f = fdopen(fd, "w");
	if (!f) {
		vj_err_sys(err, errno, "fdopen");
		unlink(tmp);
		return -1;
	}
	vj_steal_fd(fd); /* f owns it now */
	write_metrics(f, h, up);
	int e = 0;
	if (fflush(f) || fsync(fileno(f)))
		e = errno;
	if (fclose(vj_steal_ptr(f)) && !e)
		e = errno;
	if (e) {
		vj_err_sys(err, e, "cannot write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, out) < 0) {
		vj_err_sys(err, errno, "cannot rename %s to %s", tmp, out);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, 0, 'o'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *out = NULL;
	bool json = hvctl_json_flag(&argc, argv);
	int o;
	optind = 0; /* 0, not 1: glibc starts afresh (main parsed with "+", which would stick) */
	while ((o = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 'h': verb_help("metrics", stdout); return 0;
		default: vj_cli_bad_option("hvctl metrics", o, argv);
		}
	}
	if (optind < argc)
		hvctl_usage_error("metrics", "unexpected argument '%s'", argv[optind]);
	if (json && out)
		hvctl_usage_error("metrics", "--json writes to stdout, not with -o");
	cleanup_host struct host h;
	bool up = host_load(&h) == 0; /* down: said so, and the metrics say it too */
	if (json) {
		json_t *doc = up ? host_json(&h) : json_object();
		if (doc && json_object_set_new(doc, "hvd_up", json_boolean(up)) < 0)
			doc = (json_decref(doc), NULL);
		int rc = hvctl_json_print(doc);
		return up ? rc : 1;
	}
	if (!out) {
		write_metrics(stdout, &h, up);
		return up ? 0 : 1;
	}
	struct vj_err err;
	if (write_atomically(out, &h, up, &err) < 0) {
		fprintf(stderr, "hvctl: metrics: %s\n", err.msg);
		return 1;
	}
	return up ? 0 : 1;
}

/* ",a,b," -> ["a","b"]; "" (any) -> null. */
static json_t *list_json(const char *s, size_t n)
{
	if (!n)
		return json_null();
	char buf[4096];
	/* without the list's first and last comma */
	snprintf(buf, sizeof(buf), "%.*s", n > 2 ? (int)(n - 2) : 0, s + 1);
	return hvctl_json_list(buf);
}

/* The POLICY show reply as {"path", "rules": [...]} (docs/hvctl-json.md). */
static json_t *policy_json(const struct vj_frame *f)
{
	char path[4096] = "";
	vj_kv_get_str(f->payload, f->len, "path", path, sizeof(path), "", NULL);
	json_t *rules = json_array();
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (rules && vj_kv_next(&it, &e) > 0) {
		if (!vj_kv_key_is(&e, "rule"))
			continue;
		const char *fld[10];
		size_t len[10], n = 0;
		const char *p = (const char *)e.val, *end = p + e.vlen;
		while (n < 10) {
			const char *tab = memchr(p, '\t', (size_t)(end - p));
			fld[n] = p;
			len[n++] = (size_t)((tab ? tab : end) - p);
			if (!tab)
				break;
			p = tab + 1;
		}
		if (n != 10)
			continue; /* another version's record: left out, never guessed */
		json_t *r = json_pack("{s:s%, s:I, s:s%, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}}", "name",
				      fld[0], len[0], "line", (json_int_t)strtol(fld[1], NULL, 10), "vm",
				      fld[2], len[2], "default_image",
				      len[3] ? json_stringn(fld[3], len[3]) : json_null(), "images",
				      list_json(fld[4], len[4]), "when", "partition", list_json(fld[5], len[5]),
				      "account", list_json(fld[6], len[6]), "qos", list_json(fld[7], len[7]),
				      "user", list_json(fld[8], len[8]), "group", list_json(fld[9], len[9]));
		if (json_array_append_new(rules, r) < 0)
			rules = (json_decref(rules), NULL);
	}
	return json_pack("{s:o, s:o}", "path", path[0] ? json_string(path) : json_null(), "rules", rules);
}

static int policy_show(bool json)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "show", "1");
	struct vj_frame f;
	if (hvctl_call(VJ_REQ_POLICY, &kv, HVCTL_ADMIN_TIMEOUT_MS, &f) < 0)
		return 1;
	cleanup_free uint8_t *payload = f.payload;
	if (json)
		return hvctl_json_print(policy_json(&f));
	char text[65536];
	if (vj_kv_get_str(f.payload, f.len, "text", text, sizeof(text), "", NULL) < 0)
		hvctl_die("hvd's answer has no policy text");
	fputs(text, stdout);
	return 0;
}

/* --file: decide here, from the file, as hvd would (the same parser: the
 * site can try a file before hvd reads it, and a controller's job_submit
 * script can ask without an hvd). */
static int check_file(const char *file, struct hv_job_facts *j, const char *image,
		      struct hv_decision *d)
{
	struct hv_policy p = {0};
	struct vj_err err = {0};
	if (hv_policy_load(&p, file, &err) < 0) {
		fprintf(stderr, "hvctl: %s\n", err.msg);
		return -1;
	}
	int rc = hv_policy_decide(&p, j, image, d, &err);
	hv_policy_free(&p);
	if (rc < 0)
		fprintf(stderr, "hvctl: %s\n", err.msg);
	return rc;
}

static int policy_check(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{"user", required_argument, 0, 'u'},    {"partition", required_argument, 0, 'p'},
		{"account", required_argument, 0, 'a'}, {"qos", required_argument, 0, 'q'},
		{"group", required_argument, 0, 'g'},   {"image", required_argument, 0, 'i'},
		{"file", required_argument, 0, 'f'},    {0, 0, 0, 0}};
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "check", "1");
	struct hv_job_facts facts = {0};
	static char gnames[64][128];
	static const char *groups[64];
	const char *file = NULL, *image = "";
	int o;
	optind = 0; /* see cmd_cpu */
	while ((o = getopt_long(argc, argv, ":u:p:a:q:g:i:f:", opts, NULL)) != -1) {
		static const char *const keys[128] = {['u'] = "user", ['p'] = "partition", ['a'] = "account",
						      ['q'] = "qos", ['g'] = "group", ['i'] = "image"};
		switch (o) {
		case 'u': facts.user = optarg; break;
		case 'p': facts.partition = optarg; break;
		case 'a': facts.account = optarg; break;
		case 'q': facts.qos = optarg; break;
		case 'i': image = optarg; break;
		case 'f': file = optarg; continue;
		case 'g':
			if (facts.ngroups < 64) {
				snprintf(gnames[facts.ngroups], 128, "%s", optarg);
				groups[facts.ngroups] = gnames[facts.ngroups];
				facts.ngroups++;
			}
			break;
		default: vj_cli_bad_option("hvctl policy check", o, argv);
		}
		vj_kv_add_str(&kv, keys[o], optarg);
	}
	if (optind < argc)
		hvctl_usage_error("policy", "check: unexpected argument '%s'", argv[optind]);
	if (!facts.user || !facts.partition)
		hvctl_usage_error("policy", "check needs --user and --partition");
	if (image[0] && !vj_name_valid(image))
		hvctl_usage_error("policy", "check: '%s' is not an image name", image);
	struct hv_decision d = {0};
	if (file) {
		/* No --group: the user's groups from this host's user database,
		 * as hvd takes them for a real job. */
		static struct hv_owner o;
		if (!facts.ngroups && hv_owner_by_name(facts.user, &o))
			for (size_t i = 0; i < o.ngids && facts.ngroups < 64; i++)
				if (o.gnames[i][0])
					groups[facts.ngroups++] = o.gnames[i];
		facts.groups = groups;
		if (check_file(file, &facts, image, &d) < 0)
			return 1;
	} else {
		struct vj_frame f;
		if (hvctl_call(VJ_REQ_POLICY, &kv, HVCTL_ADMIN_TIMEOUT_MS, &f) < 0)
			return 1;
		cleanup_free uint8_t *payload = f.payload;
		char vmflag[4];
		vj_kv_get_str(f.payload, f.len, "vm", vmflag, sizeof(vmflag), "0", NULL);
		vj_kv_get_str(f.payload, f.len, "image", d.image, sizeof(d.image), "", NULL);
		vj_kv_get_str(f.payload, f.len, "rule", d.rule, sizeof(d.rule), "", NULL);
		vj_kv_get_str(f.payload, f.len, "where", d.where, sizeof(d.where), "", NULL);
		d.vm = !strcmp(vmflag, "1");
	}
	if (json)
		return hvctl_json_print(json_pack("{s:b, s:o, s:o, s:o}", "vm", d.vm, "image",
						  d.vm ? json_string(d.image) : json_null(), "rule",
						  d.rule[0] ? json_string(d.rule) : json_null(), "where",
						  d.where[0] ? json_string(d.where) : json_null()));
	if (d.vm)
		printf("runs in a VM of image %s", d.image);
	else
		printf("runs on the host (no VM)");
	if (d.rule[0])
		printf(": rule %s (%s)\n", d.rule, d.where);
	else
		printf(": no rule matches (as without a policy)\n");
	return 0;
}

static int cmd_policy(int argc, char **argv)
{
	bool json = hvctl_json_flag(&argc, argv);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return policy_check(argc - 1, argv + 1, json);
	if (argc > 1)
		hvctl_usage_error("policy", "unexpected argument '%s'", argv[1]);
	return policy_show(json);
}

int hvctl_admin_main(int argc, char **argv)
{
	const char *verb = argv[0];
	bool help = false;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			help = true;
	if (help && strcmp(verb, "cpu") && strcmp(verb, "metrics")) {
		verb_help(verb, stdout);
		return 0;
	}
	if (!strcmp(verb, "vms")) {
		bool json = hvctl_json_flag(&argc, argv);
		if (argc > 1)
			hvctl_usage_error("vms", "unexpected argument '%s'", argv[1]);
		return cmd_vms(json);
	}
	if (!strcmp(verb, "drain"))
		return cmd_drain(argc, argv, true);
	if (!strcmp(verb, "resume"))
		return cmd_drain(argc, argv, false);
	if (!strcmp(verb, "cpu"))
		return cmd_cpu(argc, argv);
	if (!strcmp(verb, "policy"))
		return cmd_policy(argc, argv);
	return cmd_metrics(argc, argv);
}
