#include "ini.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "names.h"

/* Values too long for inih's line buffer are handed over as a token, a
 * control character (refused in input, so never ambiguous) and an index
 * into this table, and swapped back before on_key sees them. */
#define LONG_MARK '\001'

struct state {
	const struct hv_ini *p;
	const char *text;
	size_t len, pos;
	unsigned line; /* the physical line last given to inih */
	char section[VJ_NAME_SZ * 2];
	char **longv;  /* values of long lines, by token */
	size_t nlong;
	struct vj_err *err;
	unsigned err_line; /* 0 = no error yet */
};

static int fail(struct state *st, int rc)
{
	if (rc < 0 && !st->err_line)
		st->err_line = st->line;
	return rc;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Where an inline comment starts in s: '#' anywhere (hvd.conf), or ';'
 * after white space (inih's rule, applied here to the lines we shorten). */
static size_t comment_at(const struct state *st, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (st->p->hash_comments && s[i] == '#')
			return i;
		if (s[i] == ';' && i > 0 && is_space(s[i - 1]))
			return i;
	}
	return n;
}

/* One physical line, trimmed, into line[]; 0 at the end, -1 on error. */
static int next_line(struct state *st, char *line)
{
	if (st->pos >= st->len)
		return 0;
	st->line++;
	const char *s = st->text + st->pos, *nl = memchr(s, '\n', st->len - st->pos);
	size_t n = nl ? (size_t)(nl - s) : st->len - st->pos;
	st->pos += n + (nl ? 1 : 0);
	if (n >= HV_INI_LINE_MAX)
		return fail(st, vj_err_set(st->err, EINVAL, "line too long (limit %d bytes)",
					   HV_INI_LINE_MAX - 1));
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r') || s[i] == 0x7f)
			return fail(st, vj_err_set(st->err, EINVAL, "control character"));
	while (n && is_space(*s))
		s++, n--;
	if (n && *s != '#' && *s != ';')
		n = comment_at(st, s, n);
	while (n && is_space(s[n - 1]))
		n--;
	memcpy(line, s, n);
	line[n] = '\0';
	return 1;
}

static int section_line(struct state *st, char *line)
{
	char *end = strchr(line, ']');
	if (!end || end[1])
		return fail(st, vj_err_set(st->err, EINVAL, "malformed section header"));
	*end = '\0';
	char *name = line + 1;
	while (is_space(*name))
		name++;
	for (char *e = name + strlen(name); e > name && is_space(e[-1]);)
		*--e = '\0';
	if (!st->p->on_section)
		return fail(st, vj_err_set(st->err, EINVAL, "unexpected section header [%.64s]", name));
	if (strlen(name) >= sizeof(st->section))
		return fail(st, vj_err_set(st->err, EINVAL, "section name too long"));
	strcpy(st->section, name);
	return fail(st, st->p->on_section(st->p->u, name, st->err));
}

/* "key = <value too long for inih>" becomes "key = \001N". */
static int shorten(struct state *st, char *line, int num)
{
	size_t sep = strcspn(line, "=:");
	if (!line[sep] || sep + 16 >= (size_t)num)
		return 0; /* inih reports it (no '='), or the key is absurd */
	char *v = line + sep + 1;
	while (is_space(*v))
		v++;
	char **nv = realloc(st->longv, (st->nlong + 1) * sizeof(*nv));
	if (!nv)
		return fail(st, vj_err_set(st->err, ENOMEM, "out of memory"));
	st->longv = nv;
	if (!(st->longv[st->nlong] = strdup(v)))
		return fail(st, vj_err_set(st->err, ENOMEM, "out of memory"));
	sprintf(line + sep + 1, " %c%zu", LONG_MARK, st->nlong++);
	return 0;
}

static char *reader(char *buf, int num, void *stream)
{
	struct state *st = stream;
	char line[HV_INI_LINE_MAX];
	if (st->err_line)
		return NULL;
	int r = next_line(st, line);
	if (r <= 0)
		return NULL;
	if (line[0] == '[') {
		if (section_line(st, line))
			return NULL;
		line[0] = '\0'; /* inih needs no sections: on_key is given ours */
	} else if (strlen(line) + 2 > (size_t)num && line[0] != '#' && line[0] != ';') {
		if (shorten(st, line, num))
			return NULL;
	}
	snprintf(buf, (size_t)num, "%s\n", line);
	return buf;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	(void)section;
	struct state *st = user;
	if (st->err_line)
		return 0;
	if (value[0] == LONG_MARK) {
		size_t i = strtoul(value + 1, NULL, 10);
		value = i < st->nlong ? st->longv[i] : "";
	}
	return fail(st, st->p->on_key(st->p->u, st->section, key, value, st->err)) ? 0 : 1;
}

int hv_ini_parse(const char *text, size_t len, const struct hv_ini *p, unsigned *lineno,
		 struct vj_err *err)
{
	struct state st = {.p = p, .text = text, .len = len, .err = err};
	*lineno = 0;
	if (memchr(text, '\0', len))
		return vj_err_set(err, EINVAL, "contains a NUL byte");
	int r = ini_parse_stream(reader, &st, handler, &st);
	for (size_t i = 0; i < st.nlong; i++)
		free(st.longv[i]);
	free(st.longv);
	/* inih's own complaint (a line without '=') may come before ours. */
	if (r > 0 && (!st.err_line || (unsigned)r < st.err_line)) {
		*lineno = (unsigned)r;
		return vj_err_set(err, EINVAL, "expected 'key = value'");
	}
	if (st.err_line) {
		*lineno = st.err_line;
		return -1;
	}
	if (r < 0)
		return vj_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int hv_ini_read_file(const char *path, size_t max_bytes, char **text, size_t *len,
		     struct vj_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return vj_err_sys(err, errno, "cannot open %s", path);
	cleanup_free char *buf = malloc(max_bytes + 1);
	if (!buf)
		return vj_err_set(err, ENOMEM, "out of memory");
	size_t n = fread(buf, 1, max_bytes + 1, f);
	if (ferror(f))
		return vj_err_sys(err, EIO, "cannot read %s", path);
	if (n > max_bytes)
		return vj_err_set(err, EFBIG, "%s is larger than %zu bytes", path, max_bytes);
	buf[n] = '\0';
	*len = n;
	*text = vj_steal_ptr(buf);
	return 0;
}
