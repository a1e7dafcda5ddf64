/* The image catalogue: remote input, parsed with bounds (catalogue.c), and the names hvd accepts. Built with ASan/UBSan (make test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "images/catalogue.h"
#include "images/fetch.h"

#define SHA_A "5956faca7d0edde3adc94d38577c2c1d113646f2bb8b5c718edb0294c1c10c83"
#define SHA_B "26f2e57c99338feaf71c46fa4babdc7e1a6c115943002d109fdb746667104f5f"

static int parse(const char *text, struct hv_catalogue *c, struct vj_err *err)
{
	return hv_catalogue_parse(text, strlen(text), "http://repo.example/img/catalogue.conf", c, err);
}

static void test_catalogue(void)
{
	struct hv_catalogue c;
	struct vj_err err = {0};
	const char *good = "# comment\n[minimal]\ndescription = x\nroot = minimal-root.img\n"
			   "root_sha256 = " SHA_A "\nkernel = /abs/vmlinuz\nkernel_sha256 = " SHA_B
			   "\ninitrd = https://other.example/initrd\ninitrd_sha256 = " SHA_A
			   "\ncmdline = console=ttyS0 quiet\nroot_size = 123\n\n[second]\n"
			   "root=r\nroot_sha256=" SHA_A "\nkernel=k\nkernel_sha256=" SHA_A
			   "\ninitrd=i\ninitrd_sha256=" SHA_A "\nroot_format = qcow2\n";
	CHECK(parse(good, &c, &err) == 0);
	CHECK(c.n == 2);
	if (c.n == 2) {
		CHECK(!strcmp(c.images[0].root.url, "http://repo.example/img/minimal-root.img"));
		CHECK(!strcmp(c.images[0].kernel.url, "http://repo.example/abs/vmlinuz"));
		CHECK(!strcmp(c.images[0].initrd.url, "https://other.example/initrd"));
		CHECK(!strcmp(c.images[0].cmdline, "console=ttyS0 quiet"));
		CHECK(!strcmp(c.images[0].root_format, "raw"));
		CHECK(!strcmp(c.images[1].root_format, "qcow2"));
		CHECK(!strcmp(c.images[0].description, "x") && !c.images[1].description[0]);
		CHECK(c.images[0].init == HV_INIT_VMJOB && c.images[1].init == HV_INIT_VMJOB);
	}
	hv_catalogue_free(&c);
	/* init: the image's own init, or a clear refusal. */
	const char *own = "[s]\ninit = image\nroot=r\nroot_sha256=" SHA_A "\nkernel=k\nkernel_sha256="
			  SHA_A "\ninitrd=i\ninitrd_sha256=" SHA_A "\n";
	CHECK(parse(own, &c, &err) == 0 && c.n == 1 && c.images[0].init == HV_INIT_IMAGE);
	hv_catalogue_free(&c);
	CHECK(parse("[s]\ninit = systemd\n", &c, &err) < 0 && strstr(err.msg, "not vmjob or image") &&
	      strstr(err.msg, "line 2"));

	/* Hostile or broken input is refused with the line number. */
	const char *bad[] = {
		"[../etc]\n",
		"root = x\n",
		"[a]\nroot_sha256 = ../../etc/passwd\n",
		"[a]\nroot_sha256 = " SHA_A "X\n",
		"[a]\nroot_format = vmdk\n",
		"[a]\nnovalue\n",
		"[a\n",
		"[a]\n[a]\n",
		"[a]\nroot = r\n", /* incomplete image */
		"[a]\ncmdline = a\001b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vj_err_clear(&err);
		int rc = parse(bad[i], &c, &err);
		CHECK(rc == -1);
		if (rc == 0)
			hv_catalogue_free(&c);
		CHECK(strstr(err.msg, "catalogue http://repo.example/img/catalogue.conf") != NULL);
	}
	vj_err_clear(&err);
	CHECK(hv_catalogue_parse("[a]\0", 4, "u", &c, &err) == -1);
}

/* An unknown name names its close matches (file:// goes through the
 * same fetch as http://). */
static void test_close_matches(void)
{
	char path[] = "/tmp/vmjob-cat.XXXXXX";
	int fd = mkstemp(path);
	const char *entry = "\nroot=r\nroot_sha256=" SHA_A "\nkernel=k\nkernel_sha256=" SHA_A
			    "\ninitrd=i\ninitrd_sha256=" SHA_A "\n";
	FILE *f = fdopen(fd, "w");
	fprintf(f, "[debian12]%s[debian12-systemd]%s[minimal]%s", entry, entry, entry);
	fclose(f);
	char url[64];
	snprintf(url, sizeof(url), "file://%s", path);
	struct hv_image im;
	struct vj_err err = {0};
	CHECK(hv_catalogue_find(url, "debain12", &im, &err) < 0);
	CHECK(strstr(err.msg, "unknown image 'debain12' (did you mean debian12?)"));
	CHECK(strstr(err.msg, "(available: debian12, debian12-systemd, minimal)"));
	CHECK(hv_catalogue_find(url, "nothing-like-it", &im, &err) < 0 && !strstr(err.msg, "did you mean"));
	CHECK(hv_catalogue_find(url, "minimal", &im, &err) == 0 && !strcmp(im.name, "minimal"));
	unlink(path);
}

/* Catalogues sites wrote before inih: long URLs and cmdlines (inih's own
 * line limit is 200 bytes), 64-byte names, '#' inside a value. */
static void test_long_lines(void)
{
	struct hv_catalogue c;
	struct vj_err err = {0};
	char name[65], path[1500], text[6000];
	memset(name, 'n', 64);
	name[64] = '\0';
	memset(path, 'p', 1400);
	path[1400] = '\0';
	snprintf(text, sizeof(text),
		 "[%s]\nroot = https://images.site.example/%s/root.img#x\nroot_sha256 = " SHA_A
		 "\nkernel = k\nkernel_sha256 = " SHA_B "\ninitrd = i\ninitrd_sha256 = " SHA_A
		 "\ncmdline = console=ttyS0 %s\n",
		 name, path, path + 600);
	CHECK(parse(text, &c, &err) == 0 && c.n == 1);
	if (c.n == 1) {
		CHECK(!strcmp(c.images[0].name, name));
		CHECK(strlen(c.images[0].root.url) == strlen("https://images.site.example/") + 1400 +
							   strlen("/root.img#x"));
		CHECK(strlen(c.images[0].cmdline) == strlen("console=ttyS0 ") + 800);
	}
	hv_catalogue_free(&c);
}

int main(void)
{
	test_long_lines();
	test_close_matches();
	struct vj_err err;
	if (hv_fetch_global_init(&err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	};
	test_catalogue();
	return CHECK_DONE();
}
