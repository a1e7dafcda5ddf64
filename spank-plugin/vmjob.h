/* State and entry points shared by the files of the SPANK plugin. Each file
 * does one job: plugin.c dispatches on the SPANK context, options.c owns the
 * user options, args.c the plugstack.conf arguments, local.c the
 * sbatch/salloc/srun side, remote.c slurmstepd, epilog.c the job epilog. */
#ifndef VMJOB_PLUGIN_H
#define VMJOB_PLUGIN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <slurm/spank.h>
#include <sys/un.h>

#include "err.h"
#include "names.h"

#define VMJOB_IMAGE_MAX VJ_NAME_MAX
/* Largest --vm-scratch accepted, MiB (64 TiB): a typo guard, not a policy;
 * hvd decides what fits. */
#define VMJOB_SCRATCH_MAX_MB (64ull * 1024 * 1024)

/* Site configuration from the plugstack.conf line. */
struct vmjob_conf {
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char vmexec[PATH_MAX];
	/* policy=strict: a job without --vm-image fails when hvd cannot be
	 * asked what the site policy decides (nodes of a VM-only partition:
	 * with hvd down its jobs must not run on the host instead). */
	bool policy_strict;
};

/* What the user asked for with --vm-image / --vm-scratch / --vm-timing. */
struct vmjob_opts {
	char image[VMJOB_IMAGE_MAX + 1]; /* "" = not a VM job */
	uint64_t scratch_mb;             /* 0 = hvd's default */
	bool timing;
};

extern struct vmjob_conf vmjob_conf;
extern struct vmjob_opts vmjob_opts;

/* args.c: parse `key=value` plugstack arguments into conf (defaults first). */
int vmjob_args_parse(int ac, char **av, struct vmjob_conf *conf, struct vj_err *err);

/* options.c; image names are checked by vj_name_valid (common/names.h) */
int vmjob_options_register(spank_t sp, struct vj_err *err);
/* size.c: "512", "20G", "1.5"(no), "100MiB" -> MiB; false if malformed. */
bool vmjob_parse_size_mb(const char *s, uint64_t *mb);

/* cpulist.c: number of ids in a Slurm list like "0-3,8,10-11"; -1 if malformed. */
long vmjob_cpulist_count(const char *list);

/* multiprog.c: does a step argv look like srun --multi-prog's? */
bool vmjob_looks_multiprog(int argc, char **argv);

/* local.c: sbatch, salloc, srun. */
int vmjob_local_init_post_opt(spank_t sp);

/* remote.c: slurmstepd. */
int vmjob_remote_init_post_opt(spank_t sp);
int vmjob_remote_task_init(spank_t sp);

/* epilog.c: `slurmstepd spank epilog`. */
int vmjob_job_epilog(spank_t sp);

#endif
