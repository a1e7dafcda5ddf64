#include "images.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "frame.h"
#include "hvctl.h"
#include "json.h"
#include "kv.h"

static const char *const help_catalogue =
	"  catalogue [--json]        the images you can ask for (--vm-image=NAME): name, how\n"
	"                            it boots (vmjob: the agent at once; image: its own init),\n"
	"                            whether this node has it cached, and its description\n";
static const char *const help_images =
	"  images [-r] [--json]      the image cache: each file's sha256, state (cached,\n"
	"                            partial: an interrupted download the next pull resumes,\n"
	"                            downloading), size, last use, the VMs using it and the\n"
	"                            catalogue entries naming it; -r, --raw: hvd's key=value\n"
	"                            lines\n";
static const char *const help_pull =
	"  pull IMAGE...             fetch IMAGE's root, kernel and initrd into the cache now,\n"
	"                            so the first job does not wait for them (root)\n";
static const char *const help_evict =
	"  evict [--unused | IMAGE|SHA256...]\n"
	"                            remove cache files no VM uses (root): the given images'\n"
	"                            files or digests (exit 1 if one is in use), --unused:\n"
	"                            every unused file, nothing: least recently used unused\n"
	"                            files until the cache fits cache_size_mb\n";

void hvctl_images_usage(FILE *f)
{
	fputs(help_catalogue, f);
	fputs(help_images, f);
	fputs(help_pull, f);
	fputs(help_evict, f);
}

bool hvctl_images_verb(const char *verb)
{
	return !strcmp(verb, "catalogue") || !strcmp(verb, "images") || !strcmp(verb, "pull") ||
	       !strcmp(verb, "evict");
}

/* Value of field key in a "k=v k=v ..." line (values have no spaces, except
 * a last field `reason`, which runs to the end). */
static void field(const char *line, size_t len, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);
	out[0] = '\0';
	for (size_t i = 0; i + kl < len; i++) {
		if ((i && line[i - 1] != ' ') || memcmp(line + i, key, kl) || line[i + kl] != '=')
			continue;
		const char *v = line + i + kl + 1;
		size_t vl = (size_t)(line + len - v);
		if (strcmp(key, "reason"))
			vl = strcspn(v, " ") < vl ? strcspn(v, " ") : vl;
		snprintf(out, outsz, "%.*s", (int)vl, v);
		return;
	}
}

static void human(uint64_t b, char *out, size_t outsz)
{
	if (b >= (1ull << 30))
		snprintf(out, outsz, "%.1f GiB", (double)b / (1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(out, outsz, "%.1f MiB", (double)b / (1ull << 20));
	else if (b >= 1024)
		snprintf(out, outsz, "%.1f KiB", (double)b / 1024);
	else
		snprintf(out, outsz, "%llu B", (unsigned long long)b);
}

static bool want_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: hvctl [-s SOCKET]\n%s", text);
			return true;
		}
	return false;
}

/* One cache file of the IMAGES reply as JSON (docs/hvctl-json.md). */
static json_t *image_json(const char *line, size_t len)
{
	char sha[80], state[32], size[32], last[32], users[512], names[512];
	field(line, len, "sha256", sha, sizeof(sha));
	field(line, len, "state", state, sizeof(state));
	field(line, len, "size", size, sizeof(size));
	field(line, len, "last_use", last, sizeof(last));
	field(line, len, "users", users, sizeof(users));
	field(line, len, "names", names, sizeof(names));
	long long lu = strtoll(last, NULL, 10);
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "sha256", sha, "state", state, "size_bytes",
			 (json_int_t)strtoull(size, NULL, 10), "last_use", lu > 0 ? json_integer(lu) : json_null(),
			 "used_by", hvctl_json_list(users), "names", hvctl_json_list(names));
}

static int images_json(const struct vj_frame *reply)
{
	uint64_t total = 0, limit = 0;
	char cerr[1024];
	vj_kv_get_u64(reply->payload, reply->len, "total", 0, UINT64_MAX, true, &total, NULL);
	vj_kv_get_u64(reply->payload, reply->len, "limit_mb", 0, UINT64_MAX, true, &limit, NULL);
	bool have_cerr = vj_kv_get_str(reply->payload, reply->len, "catalogue_error", cerr, sizeof(cerr),
				       NULL, NULL) == 0;
	json_t *files = json_array();
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, reply->payload, reply->len);
	while (files && vj_kv_next(&it, &e) > 0)
		if (vj_kv_key_is(&e, "image") &&
		    json_array_append_new(files, image_json((const char *)e.val, e.vlen)) < 0)
			files = (json_decref(files), NULL);
	return hvctl_json_print(json_pack("{s:I, s:I, s:o, s:o}", "total_bytes", (json_int_t)total,
					  "limit_mb", (json_int_t)limit, "catalogue_error",
					  have_cerr ? json_string(cerr) : json_null(), "files", files));
}

static int cmd_images(int argc, char **argv)
{
	bool json = hvctl_json_flag(&argc, argv);
	bool raw = argc > 1 && (!strcmp(argv[1], "-r") || !strcmp(argv[1], "--raw"));
	if (argc > 1 + raw)
		hvctl_usage_error("images", "unexpected argument '%s'", argv[1 + raw]);
	if (raw && json)
		hvctl_usage_error("images", "-r and --json are two different outputs: choose one");
	struct vj_frame reply;
	if (hvctl_call(VJ_REQ_IMAGES, NULL, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	if (json)
		return images_json(&reply);
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, reply.payload, reply.len);
	if (raw) {
		while (vj_kv_next(&it, &e) > 0)
			printf("%.*s=%.*s\n", (int)e.klen, e.key, (int)e.vlen, (const char *)e.val);
		return 0;
	}
	uint64_t total = 0, limit = 0;
	vj_kv_get_u64(reply.payload, reply.len, "total", 0, UINT64_MAX, true, &total, NULL);
	vj_kv_get_u64(reply.payload, reply.len, "limit_mb", 0, UINT64_MAX, true, &limit, NULL);
	char t[32], l[32], cerr[1024];
	human(total, t, sizeof(t));
	human(limit << 20, l, sizeof(l));
	printf("image cache: %s, limit %s\n", t, limit ? l : "none (cache_size_mb = 0)");
	if (vj_kv_get_str(reply.payload, reply.len, "catalogue_error", cerr, sizeof(cerr), NULL,
			  NULL) == 0)
		printf("(no names: %s)\n", cerr);
	printf("%-64s  %-11s  %9s  %-19s  %-20s  %s\n", "SHA256", "STATE", "SIZE", "LAST USE",
	       "IN USE BY", "NAMES");
	while (vj_kv_next(&it, &e) > 0) {
		if (!vj_kv_key_is(&e, "image"))
			continue;
		const char *line = (const char *)e.val;
		char sha[80], state[32], size[32], last[32], users[512], names[512], when[32] = "-";
		field(line, e.vlen, "sha256", sha, sizeof(sha));
		field(line, e.vlen, "state", state, sizeof(state));
		field(line, e.vlen, "size", size, sizeof(size));
		field(line, e.vlen, "last_use", last, sizeof(last));
		field(line, e.vlen, "users", users, sizeof(users));
		field(line, e.vlen, "names", names, sizeof(names));
		char sz[32];
		human(strtoull(size, NULL, 10), sz, sizeof(sz));
		time_t lu = (time_t)strtoll(last, NULL, 10);
		struct tm tm;
		if (lu > 0 && localtime_r(&lu, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%-64s  %-11s  %9s  %-19s  %-20s  %s\n", sha, state, sz, when, users, names);
	}
	if (vj_kv_count(reply.payload, reply.len, "image") == 0)
		printf("(empty)\n");
	return 0;
}

static int cmd_pull(int argc, char **argv)
{
	if (argc < 2)
		hvctl_usage_error("pull", "missing IMAGE");
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			hvctl_usage_error("pull", "unknown option '%s'", argv[i]);
	int status = 0;
	for (int i = 1; i < argc; i++) {
		cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
		vj_kv_add_str(&kv, "image", argv[i]);
		struct vj_frame reply;
		if (hvctl_call(VJ_REQ_PULL, &kv, HVCTL_WAIT_FOREVER, &reply) < 0) {
			status = 1;
			continue;
		}
		cleanup_free uint8_t *payload = reply.payload;
		struct vj_kv_iter it;
		struct vj_kv_entry e;
		vj_kv_iter_init(&it, reply.payload, reply.len);
		while (vj_kv_next(&it, &e) > 0) {
			if (!vj_kv_key_is(&e, "file"))
				continue;
			const char *line = (const char *)e.val;
			char what[16], sha[80], size[32], fetched[8], ms[32], sz[32];
			field(line, e.vlen, "what", what, sizeof(what));
			field(line, e.vlen, "sha256", sha, sizeof(sha));
			field(line, e.vlen, "size", size, sizeof(size));
			field(line, e.vlen, "fetched", fetched, sizeof(fetched));
			field(line, e.vlen, "ms", ms, sizeof(ms));
			human(strtoull(size, NULL, 10), sz, sizeof(sz));
			if (!strcmp(fetched, "1"))
				printf("%s %-6s %s  %9s  fetched in %s ms\n", argv[i], what, sha, sz, ms);
			else
				/* The time shows a wait for someone else's download. */
				printf("%s %-6s %s  %9s  already cached (%s ms)\n", argv[i], what, sha, sz,
				       ms);
		}
	}
	return status;
}

static int cmd_evict(int argc, char **argv)
{
	bool unused = false;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	size_t ntargets = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unused") || !strcmp(argv[i], "-a")) {
			unused = true;
		} else if (argv[i][0] == '-') {
			hvctl_usage_error("evict", "unknown option '%s'", argv[i]);
		} else {
			vj_kv_add_str(&kv, "target", argv[i]);
			ntargets++;
		}
	}
	if (unused && ntargets)
		hvctl_usage_error("evict", "--unused takes no IMAGE or SHA256");
	if (unused)
		vj_kv_add_str(&kv, "all", "1");
	struct vj_frame reply;
	if (hvctl_call(VJ_REQ_EVICT, &kv, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	size_t evicted = 0, kept = 0;
	vj_kv_iter_init(&it, reply.payload, reply.len);
	while (vj_kv_next(&it, &e) > 0) {
		const char *line = (const char *)e.val;
		char sha[80], size[32], partial[8], reason[256], sz[32];
		field(line, e.vlen, "sha256", sha, sizeof(sha));
		field(line, e.vlen, "size", size, sizeof(size));
		field(line, e.vlen, "partial", partial, sizeof(partial));
		field(line, e.vlen, "reason", reason, sizeof(reason));
		human(strtoull(size, NULL, 10), sz, sizeof(sz));
		const char *kind = !strcmp(partial, "1") ? " (partial download)" : "";
		if (vj_kv_key_is(&e, "evicted")) {
			printf("evicted %s%s, %s\n", sha, kind, sz);
			evicted++;
		} else if (vj_kv_key_is(&e, "kept")) {
			printf("kept    %s%s: %s\n", sha, kind, reason);
			kept++;
		}
	}
	if (!evicted && !kept)
		printf("nothing to evict\n");
	/* Explicit targets that stayed are a failure; --unused and a trim
	 * leave in-use files by design. */
	return ntargets && kept ? 1 : 0;
}

/* One image per "name", then its description, init and cached. */
static int cmd_catalogue(int argc, char **argv)
{
	bool json = hvctl_json_flag(&argc, argv);
	if (argc > 1)
		hvctl_usage_error("catalogue", "unexpected argument '%s'", argv[1]);
	struct vj_frame reply;
	if (hvctl_call(VJ_REQ_CATALOGUE, NULL, HVCTL_WAIT_FOREVER, &reply) < 0)
		return 1;
	cleanup_free uint8_t *payload = reply.payload;
	json_t *list = json ? json_array() : NULL;
	if (!json)
		printf("%-24s %-6s %-7s %s\n", "IMAGE", "INIT", "CACHED", "DESCRIPTION");
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, reply.payload, reply.len);
	char name[80] = "", desc[300] = "", init[16] = "";
	int have = 0;
	while (vj_kv_next(&it, &e) > 0) {
		char v[300];
		snprintf(v, sizeof(v), "%.*s", (int)e.vlen, (const char *)e.val);
		if (vj_kv_key_is(&e, "name")) {
			snprintf(name, sizeof(name), "%.79s", v);
			desc[0] = init[0] = '\0';
			have = 1;
		} else if (vj_kv_key_is(&e, "description")) {
			snprintf(desc, sizeof(desc), "%s", v);
		} else if (vj_kv_key_is(&e, "init")) {
			snprintf(init, sizeof(init), "%.15s", v);
		} else if (vj_kv_key_is(&e, "cached") && have) {
			if (list && json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s?}", "name", name,
									  "init", init, "cached", !strcmp(v, "1"),
									  "description", desc[0] ? desc : NULL)) < 0)
				list = (json_decref(list), NULL);
			else if (!json)
				printf("%-24s %-6s %-7s %s\n", name, init, !strcmp(v, "1") ? "yes" : "no",
				       desc[0] ? desc : "-");
			have = 0;
		}
	}
	return json ? hvctl_json_print(list ? json_pack("{s:o}", "images", list) : NULL) : 0;
}

int hvctl_images_main(int argc, char **argv)
{
	const char *verb = argv[0];
	if (!strcmp(verb, "catalogue"))
		return want_help(argc, argv, help_catalogue) ? 0 : cmd_catalogue(argc, argv);
	if (!strcmp(verb, "images"))
		return want_help(argc, argv, help_images) ? 0 : cmd_images(argc, argv);
	if (!strcmp(verb, "pull"))
		return want_help(argc, argv, help_pull) ? 0 : cmd_pull(argc, argv);
	return want_help(argc, argv, help_evict) ? 0 : cmd_evict(argc, argv);
}
