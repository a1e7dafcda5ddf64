/* The user-facing options, all in one place. Registered with
 * spank_option_register() from init (22.05 does not read a static option
 * table in the allocator context), so we export no `spank_options` symbol. */
#include <errno.h>
#include <string.h>

#include "vmjob.h"

struct vmjob_opts vmjob_opts;

/* Called wherever the option is seen: the command line, #SBATCH, the
 * SLURM_SPANK_* environment an inner srun inherits, and again in slurmstepd.
 * The same value twice is fine (env + command line); two different images
 * are not, since a job has exactly one VM. */
static int opt_image(int val __attribute__((unused)), const char *optarg,
		     int remote __attribute__((unused)))
{
	if (!optarg || !vj_name_valid(optarg)) {
		slurm_error("vmjob: invalid --vm-image '%s': expected 1-64 characters from "
			    "[A-Za-z0-9._-]",
			    optarg ? optarg : "");
		return -1;
	}
	if (vmjob_opts.image[0] && strcmp(vmjob_opts.image, optarg) != 0) {
		slurm_error("vmjob: --vm-image=%s conflicts with --vm-image=%s already given "
			    "(a job runs in one VM)",
			    optarg, vmjob_opts.image);
		return -1;
	}
	strcpy(vmjob_opts.image, optarg);
	return 0;
}

static int opt_scratch(int val __attribute__((unused)), const char *optarg,
		       int remote __attribute__((unused)))
{
	uint64_t mb;
	if (!vmjob_parse_size_mb(optarg, &mb)) {
		slurm_error("vmjob: invalid --vm-scratch '%s': expected a size like 512M, 20G or 1T",
			    optarg ? optarg : "");
		return -1;
	}
	if (vmjob_opts.scratch_mb && vmjob_opts.scratch_mb != mb) {
		slurm_error("vmjob: --vm-scratch=%s conflicts with the %llu MiB already given", optarg,
			    (unsigned long long)vmjob_opts.scratch_mb);
		return -1;
	}
	vmjob_opts.scratch_mb = mb;
	return 0;
}

static int opt_timing(int val __attribute__((unused)),
		      const char *optarg __attribute__((unused)),
		      int remote __attribute__((unused)))
{
	vmjob_opts.timing = true;
	return 0;
}

static struct spank_option options[] = {
	{"vm-image", "NAME", "Run the job inside a fresh VM booted from image NAME.", 1, 0,
	 opt_image},
	{"vm-scratch", "SIZE",
	 "Size of the VM's scratch disk (its /tmp and $TMPDIR, deleted after the job), e.g. "
	 "20G; default: set by the site.",
	 1, 0, opt_scratch},
	{"vm-timing", NULL, "Print the VM start-up phase times to the job's stderr.", 0, 0,
	 opt_timing},
};

int vmjob_options_register(spank_t sp, struct vj_err *err)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		spank_err_t rc = spank_option_register(sp, &options[i]);
		if (rc != ESPANK_SUCCESS)
			return vj_err_set(err, EINVAL, "cannot register --%s: %s", options[i].name,
					  spank_strerror(rc));
	}
	return 0;
}
