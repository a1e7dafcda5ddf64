/* The INI layer over inih (ini.c): what both hvd.conf and the catalogue rely
 * on beyond inih's packaged limits. Built with ASan/UBSan (make test). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/ini.h"

struct seen {
	char log[8192];
	int keys, sections;
};

static int on_section(void *u, const char *name, struct vj_err *err)
{
	struct seen *s = u;
	s->sections++;
	if (!strcmp(name, "bad"))
		return vj_err_set(err, EINVAL, "no bad sections");
	snprintf(s->log + strlen(s->log), sizeof(s->log) - strlen(s->log), "[%s]", name);
	return 0;
}

static int on_key(void *u, const char *sec, const char *k, const char *v, struct vj_err *err)
{
	struct seen *s = u;
	s->keys++;
	if (!strcmp(k, "fail"))
		return vj_err_set(err, EINVAL, "told to fail");
	snprintf(s->log + strlen(s->log), sizeof(s->log) - strlen(s->log), "%s.%s=%s;", sec, k, v);
	return 0;
}

static int parse(const char *text, bool hash, struct seen *s, unsigned *line, struct vj_err *err)
{
	memset(s, 0, sizeof(*s));
	struct hv_ini p = {.hash_comments = hash, .on_section = on_section, .on_key = on_key, .u = s};
	return hv_ini_parse(text, strlen(text), &p, line, err);
}

int main(void)
{
	struct seen s;
	struct vj_err err = {0};
	unsigned line;

	/* Plain grammar, comments, white space, sections. */
	CHECK(parse("# c\n; c\n a = 1 \n[ x ]\n\tb=two words\n\nc = v ; comment\n", false, &s,
		    &line, &err) == 0);
	CHECK(!strcmp(s.log, ".a=1;[x]x.b=two words;x.c=v;"));
	/* '#' inside a value is text in the catalogue, a comment in hvd.conf. */
	CHECK(parse("u = http://h/p#frag\n", false, &s, &line, &err) == 0 &&
	      !strcmp(s.log, ".u=http://h/p#frag;"));
	CHECK(parse("u = path # note\n", true, &s, &line, &err) == 0 && !strcmp(s.log, ".u=path;"));
	/* Indented lines are lines of their own, not continuations. */
	CHECK(parse("a = 1\n  b = 2\n", false, &s, &line, &err) == 0 && s.keys == 2);

	/* Values longer than inih's 200-byte buffer arrive whole. */
	char text[6000], want[4000];
	memset(want, 'v', 3000);
	want[3000] = '\0';
	snprintf(text, sizeof(text), "[s]\nk = %s\nafter = 1\n", want);
	CHECK(parse(text, false, &s, &line, &err) == 0 && s.keys == 2);
	CHECK(!strncmp(s.log, "[s]s.k=vvv", 10) && strlen(s.log) == 3 + 4 + 3000 + 1 + 10);
	snprintf(text, sizeof(text), "k = %s ; a comment\n", want);
	CHECK(parse(text, false, &s, &line, &err) == 0 && strlen(s.log) == 3 + 3000 + 1);
	/* Section names up to 64 bytes (inih keeps 49). */
	char name[80];
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "[%s]\nk = 1\n", name);
	CHECK(parse(text, false, &s, &line, &err) == 0 && strstr(s.log, name) &&
	      strlen(s.log) == 2 + 64 + 64 + 5);

	/* Errors name their line. */
	CHECK(parse("a = 1\n\nnonsense\n", false, &s, &line, &err) < 0 && line == 3 &&
	      strstr(err.msg, "key = value"));
	CHECK(parse("a = 1\nfail = 1\nb = 2\n", false, &s, &line, &err) < 0 && line == 2 &&
	      strstr(err.msg, "told to fail") && s.keys == 2);
	CHECK(parse("[ok]\n[bad]\n", false, &s, &line, &err) < 0 && line == 2);
	CHECK(parse("[open\n", false, &s, &line, &err) < 0 && line == 1 &&
	      strstr(err.msg, "malformed section"));
	CHECK(parse("a = 1\nb = x\001y\n", false, &s, &line, &err) < 0 && line == 2 &&
	      strstr(err.msg, "control character"));
	CHECK(parse("a = 1\0junk", false, &s, &line, &err) == 0); /* strlen stops at the NUL */
	struct hv_ini p = {.on_key = on_key, .u = &s};
	CHECK(hv_ini_parse("a\0b", 3, &p, &line, &err) < 0 && strstr(err.msg, "NUL"));
	CHECK(hv_ini_parse("[s]\n", 4, &p, &line, &err) < 0 && strstr(err.msg, "unexpected section"));
	memset(text, 'x', 5000);
	text[5000] = '\0';
	CHECK(parse(text, false, &s, &line, &err) < 0 && line == 1 && strstr(err.msg, "too long"));
	/* A syntax error before a handler error is the one reported. */
	CHECK(parse("junk\nfail = 1\n", false, &s, &line, &err) < 0 && line == 1);
	return CHECK_DONE();
}
