/* vmjob-image: a site's own root filesystems as vmjob images.
 *   vmjob-image import [OPTIONS] SOURCE    SOURCE: a directory, a tarball,
 *                                          or an OCI layout (DIR or DIR:REF)
 *   vmjob-image install-agent [--kit F] TREE
 * import writes NAME-root.img to the output directory and prints its
 * catalogue entry on stdout; progress and errors go to stderr. */
#include "cli.h"
#include "imagetool.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

#ifndef VJ_VERSION
#define VJ_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmjob-image import [OPTIONS] SOURCE\n"
		"       vmjob-image install-agent [--kit FILE] TREE\n"
		"\n"
		"import turns SOURCE into the vmjob image NAME-root.img and prints its\n"
		"catalogue entry. SOURCE is a root filesystem: a directory, a tarball\n"
		"(.tar, .tar.gz, .tar.xz, .tar.zst), or an OCI image layout (the directory\n"
		"umoci or 'skopeo copy ... oci:DIR:REF' writes; DIR:REF picks an image).\n"
		"The guest kit (vmjob's agent, its boot hooks and unit, srun & co.) goes in.\n"
		"  -n, --name NAME          the image's name (default: from SOURCE, DIR-REF\n"
		"                           for an OCI layout)\n"
		"  -o, --out DIR            where NAME-root.img goes (default: .)\n"
		"  -d, --description TEXT   what users see in 'hvctl catalogue'\n"
		"      --init vmjob|image   vmjob (default): the agent starts at once;\n"
		"                           image: the image's own init (systemd) starts it\n"
		"      --kernel FILE        the node kernel it boots (default: OUT/minimal-vmlinux)\n"
		"      --initrd FILE        its initrd (default: OUT/minimal-initrd.img)\n"
		"      --kit FILE           the guest kit (default: %s)\n"
		"      --replace            overwrite an existing NAME-root.img (never one\n"
		"                           a catalogue names: hvd checks its digest)\n"
		"install-agent puts the guest kit into TREE, a root filesystem built elsewhere.\n"
		"Both run as root: the image's files keep their owners.\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n",
		VJ_GUEST_KIT);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}

static int fail(const struct vj_err *err)
{
	fprintf(stderr, "vmjob-image: %s\n", err->msg);
	return 1;
}

/* A name from SOURCE: its last component without archive suffixes, and
 * an OCI layout's REF after a '-' (worker:2026.11 -> worker-2026.11: two
 * tags of one layout never get one name). */
static void default_name(const char *source, char *name, size_t n)
{
	char s[4096];
	struct stat st;
	const char *ref = NULL;
	snprintf(s, sizeof(s), "%s", source);
	char *colon = strrchr(s, ':');
	if (colon && colon != s && colon[1] && stat(source, &st) < 0) {
		*colon = '\0';
		ref = colon + 1;
	}
	size_t l = strlen(s);
	while (l > 1 && s[l - 1] == '/')
		s[--l] = '\0';
	const char *b = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
	snprintf(name, n, "%s", b);
	static const char *const suffixes[] = {".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2",
					       ".tgz", ".tar"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t nl = strlen(name), sl = strlen(suffixes[i]);
		if (nl > sl && !strcmp(name + nl - sl, suffixes[i])) {
			name[nl - sl] = '\0';
			break;
		}
	}
	if (ref) {
		size_t nl = strlen(name);
		snprintf(name + nl, n - nl, "-%s", ref);
	}
}

static int need_root(struct vj_err *err)
{
	if (geteuid() != 0)
		return vj_err_set(err, EPERM, "needs root: the image's files keep their owners "
				  "(run it as root)");
	return 0;
}

static int install_kit(const char *kit, const char *tree, struct vj_err *err)
{
	if (vi_unpack(tree, kit, 0, err))
		return vj_err_prefix(err, "installing the guest kit %s", kit);
	return 0;
}

/* SOURCE into the empty tree: copied, unpacked, or layer by layer. */
static int fill_tree(const char *source, const char *tree, struct vj_err *err)
{
	char layout[4096];
	snprintf(layout, sizeof(layout), "%s", source);
	char *colon = strrchr(layout, ':');
	const char *ref = NULL;
	struct stat st;
	if (colon && colon != layout && stat(source, &st) < 0) {
		*colon = '\0';
		ref = colon + 1;
	}
	if (stat(layout, &st) < 0)
		return vj_err_sys(err, errno, "%s", source);
	if (S_ISDIR(st.st_mode) && vi_oci_is_layout(layout)) {
		struct vi_oci_image img;
		if (vi_oci_resolve(layout, ref, &img, err))
			return -1;
		fprintf(stderr, "vmjob-image: %s: an OCI image of %zu layers\n", source, img.n);
		for (size_t i = 0; i < img.n && !interrupted; i++) {
			if (vi_unpack(tree, img.layers[i].path, VI_WHITEOUTS, err)) {
				vj_err_prefix(err, "layer %zu (sha256:%.12s...)", i + 1,
					      img.layers[i].digest);
				vi_oci_free(&img);
				return -1;
			}
		}
		vi_oci_free(&img);
		return 0;
	}
	if (ref)
		return vj_err_set(err, EINVAL, "%s is not an OCI image layout (no oci-layout file)",
				  layout);
	if (S_ISDIR(st.st_mode))
		return vi_tree_copy(source, tree, err);
	if (S_ISREG(st.st_mode))
		return vi_unpack(tree, source, 0, err);
	return vj_err_set(err, EINVAL, "%s is neither a directory nor a file", source);
}

struct import_opts {
	const char *name, *out, *description, *init, *kernel, *initrd, *kit;
	bool replace; /* --replace: an existing NAME-root.img may be overwritten */
};

static int import(const char *source, const struct import_opts *o, struct vj_err *err)
{
	if (need_root(err))
		return -1;
	char name[VJ_NAME_SZ + 64];
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		default_name(source, name, sizeof(name));
	if (!vj_name_valid(name))
		return vj_err_set(err, EINVAL, "'%s' is not a usable image name (letters, digits, "
				  "'.', '_', '-', at most %d; give one with --name)",
				  name, VJ_NAME_MAX);
	char kernel[4096], initrd[4096], root[4096], desc[300];
	snprintf(kernel, sizeof(kernel), "%s", o->kernel ? o->kernel : "");
	snprintf(initrd, sizeof(initrd), "%s", o->initrd ? o->initrd : "");
	if (!o->kernel)
		snprintf(kernel, sizeof(kernel), "%s/minimal-vmlinux", o->out);
	if (!o->initrd)
		snprintf(initrd, sizeof(initrd), "%s/minimal-initrd.img", o->out);
	if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0)
		return vj_err_sys(err, errno, "the node kernel %s or initrd %s (make images builds "
				  "them; give them with --kernel and --initrd)", kernel, initrd);
	if (access(o->kit, R_OK) < 0)
		return vj_err_sys(err, errno, "the guest kit %s (make builds it; give it with --kit)",
				  o->kit);
	snprintf(root, sizeof(root), "%s/%s-root.img", o->out, name);
	/* A published image file is never changed (hvd checks it against the
	 * catalogue's digest): a new image gets a new name. */
	if (!o->replace && access(root, F_OK) == 0)
		return vj_err_set(err, EEXIST, "%s exists: a published image is never changed; pick "
				  "another --name (or --replace one that is not published)", root);
	snprintf(desc, sizeof(desc), "%s", o->description ? o->description : "");
	if (!o->description)
		snprintf(desc, sizeof(desc), "imported from %.200s", source);
	for (char *p = desc; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' '; /* one line in the catalogue */

	char tree[4096];
	if (vi_tree_new(o->out, name, tree, sizeof(tree), err))
		return -1;
	fprintf(stderr, "vmjob-image: unpacking %s\n", source);
	int rc = fill_tree(source, tree, err);
	if (rc == 0 && interrupted)
		rc = vj_err_set(err, EINTR, "interrupted (signal %d)", (int)interrupted);
	if (rc == 0)
		rc = install_kit(o->kit, tree, err);
	if (rc == 0)
		rc = vi_tree_check(tree, err);
	if (rc == 0) {
		fprintf(stderr, "vmjob-image: making %s\n", root);
		rc = vi_mkimage(tree, root, err);
	}
	struct vj_err rerr;
	if (vi_tree_remove(tree, &rerr))
		fprintf(stderr, "vmjob-image: warning: %s\n", rerr.msg);
	if (rc == 0 && interrupted)
		rc = vj_err_set(err, EINTR, "interrupted (signal %d)", (int)interrupted);
	if (rc)
		return vj_err_prefix(err, "%s", name);
	struct vi_entry e = {.name = name, .description = desc, .init = o->init, .root = root,
			     .kernel = kernel, .initrd = initrd};
	if (vi_print_entry(stdout, &e, err))
		return -1;
	fprintf(stderr, "vmjob-image: add the entry to the catalogue and publish %s beside it "
		"(with %s and %s)\n", root, kernel, initrd);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_INIT = 256, OPT_KERNEL, OPT_INITRD, OPT_KIT, OPT_REPLACE };
	static const struct option lo[] = {
		{"name", required_argument, 0, 'n'},   {"out", required_argument, 0, 'o'},
		{"description", required_argument, 0, 'd'}, {"init", required_argument, 0, OPT_INIT},
		{"kernel", required_argument, 0, OPT_KERNEL}, {"initrd", required_argument, 0, OPT_INITRD},
		{"kit", required_argument, 0, OPT_KIT}, {"replace", no_argument, 0, OPT_REPLACE},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},      {0, 0, 0, 0},
	};
	struct import_opts o = {.out = ".", .init = "vmjob", .kit = VJ_GUEST_KIT};
	int c;
	/* GNU getopt permutes: options may come before or after the command. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:o:d:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.name = optarg; break;
		case 'o': o.out = optarg; break;
		case 'd': o.description = optarg; break;
		case OPT_INIT: o.init = optarg; break;
		case OPT_KERNEL: o.kernel = optarg; break;
		case OPT_INITRD: o.initrd = optarg; break;
		case OPT_KIT: o.kit = optarg; break;
		case OPT_REPLACE: o.replace = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': vj_cli_version("vmjob-image"); return 0;
		default: vj_cli_bad_option("vmjob-image", c, argv);
		}
	}
	if (optind >= argc)
		vj_cli_usage_error("vmjob-image", "no command (import or install-agent)");
	const char *cmd = argv[optind++];
	if (strcmp(o.init, "vmjob") && strcmp(o.init, "image")) {
		vj_cli_usage_error("vmjob-image", "--init is vmjob or image, not '%s'", o.init);
	}
	/* Archive names are UTF-8 (pax) whatever the caller's locale: without
	 * a UTF-8 ctype libarchive cannot convert them. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct vj_err err = {0};
	if (!strcmp(cmd, "import")) {
		if (argc - optind != 1)
			vj_cli_usage_error("vmjob-image", "import takes one SOURCE");
		return import(argv[optind], &o, &err) ? fail(&err) : 0;
	}
	if (!strcmp(cmd, "install-agent")) {
		if (argc - optind != 1)
			vj_cli_usage_error("vmjob-image", "install-agent takes one TREE");
		if (need_root(&err) || install_kit(o.kit, argv[optind], &err) ||
		    vi_tree_check(argv[optind], &err))
			return fail(&err);
		fprintf(stderr, "vmjob-image: the guest kit is in %s\n", argv[optind]);
		return 0;
	}
	vj_cli_usage_error("vmjob-image", "unknown command '%s' (import or install-agent)", cmd);
}
