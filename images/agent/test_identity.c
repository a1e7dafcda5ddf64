/* The job owner's account in a guest's passwd and group files
 * (identity.c): what the host sends is checked, the image's clashing
 * entries give way, nothing else changes, and a second EXEC changes nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"
#include "cleanup.h"
#include "kv.h"

void ag_log(const char *fmt, ...)
{
	(void)fmt;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int parse(struct vj_kvbuf *kv, struct ag_identity *id)
{
	struct vj_err err = {0};
	return identity_parse(kv->data, kv->len, 5002, 5002, id, &err);
}

int main(void)
{
	char dir[] = "/tmp/vmjob-identity.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char passwd[300], group[300], home[300];
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	snprintf(home, sizeof(home), "%s/home/alice", dir);
	spit(passwd, "root:x:0:0:root:/root:/bin/bash\nold:x:5002:100::/home/old:/bin/sh\n"
		     "alice:x:7:7::/x:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n");
	spit(group, "root:x:0:\nusers:x:100:\nstaff:x:5003:bob\nnogroup:x:65534:\n");

	/* A full identity: the user, a primary and a supplementary group. */
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "user", "alice");
	vj_kv_add_str(&kv, "home", home);
	vj_kv_add_str(&kv, "shell", "/bin/bash");
	vj_kv_add_str(&kv, "gname", "5002:alice");
	vj_kv_add_str(&kv, "gname", "5010:physics");
	struct ag_identity id;
	struct vj_err err = {0};
	CHECK(parse(&kv, &id) == 0);
	CHECK(!strcmp(id.user, "alice") && !strcmp(id.shell, "/bin/bash"));
	CHECK(identity_apply(&id, dir, &err) == 0);
	char *p = slurp(passwd);
	char want[600];
	snprintf(want, sizeof(want), "alice:x:5002:5002::%s:/bin/bash\n", home);
	CHECK(p && strstr(p, want));
	CHECK(p && strstr(p, "root:x:0:0:root:/root:/bin/bash\n") == p); /* others stay, in order */
	CHECK(p && strstr(p, "nobody:x:65534:"));
	CHECK(p && !strstr(p, "old:x:5002")); /* same uid: gives way */
	CHECK(p && !strstr(p, "alice:x:7:"));  /* same name: gives way */
	char *g = slurp(group);
	CHECK(g && strstr(g, "alice:x:5002:alice\n") && strstr(g, "physics:x:5010:alice\n"));
	CHECK(g && strstr(g, "staff:x:5003:bob\n") && strstr(g, "users:x:100:\n"));
	struct stat st;
	CHECK(stat(home, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	/* The second EXEC finds it all there: same files. */
	char before[8192];
	snprintf(before, sizeof(before), "%s", slurp(passwd));
	CHECK(identity_apply(&id, dir, &err) == 0);
	CHECK(!strcmp(before, slurp(passwd)));
	identity_free(&id);

	/* Nothing from the host may add a line or a field. */
	const char *bad[][2] = {{"user", "eve:x:0:0::/:/bin/sh"}, {"user", "a\nroot"},
				{"home", "relative/home"}, {"shell", "/bin/sh\nx"},
				{"gname", "5002"}, {"gname", "x:alice"}, {"gname", "5002:a,b"},
				{"gname", ":alice"}, {"home", "/h:ome"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cleanup_kv struct vj_kvbuf b = VJ_KV_INIT;
		if (strcmp(bad[i][0], "user"))
			vj_kv_add_str(&b, "user", "alice");
		vj_kv_add_str(&b, bad[i][0], bad[i][1]);
		struct ag_identity bid;
		CHECK(parse(&b, &bid) < 0);
		identity_free(&bid);
	}
	/* Root and an unnamed uid: nothing written. */
	cleanup_kv struct vj_kvbuf none = VJ_KV_INIT;
	CHECK(parse(&none, &id) == 0 && identity_apply(&id, dir, &err) == 0);
	CHECK(!strcmp(before, slurp(passwd)));
	identity_free(&id);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
