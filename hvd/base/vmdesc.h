/* One VM described once: the job, its owner, image, sizes, cores, how it
 * runs and how long each start-up phase took. The CREATE request, hvd's VM
 * table, the domain's libvirt metadata and the STATUS and CREATE replies are
 * all this struct, converted by one table of its fields (vmdesc.c) rather
 * than copied field by field. New facts about a VM are added here, once. */
#ifndef HV_VMDESC_H
#define HV_VMDESC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "kv.h"
#include "names.h"

struct hv_vmdesc {
	char job[VJ_NAME_SZ], image[VJ_NAME_SZ];
	uid_t uid;  /* the job's owner */
	gid_t gid;
	unsigned cpus, mem_mb;
	char cores[128];     /* host cores Slurm gave the job, "" = any */
	uint64_t scratch_mb; /* 0 in a request: hvd.conf's default */
	time_t created;
	char virt[8];        /* kvm | qemu, "-" or "" until known */
	char instance[PATH_MAX]; /* the hvd that owns it (hvd.conf instance) */
	long t_image, t_scratch, t_domain, t_agent; /* ms; -1 = not yet */
};

/* Where a field appears. */
enum {
	HV_IN_CREATE = 1 << 0,  /* a CREATE request carries it */
	HV_IN_META = 1 << 1,    /* the domain's libvirt metadata */
	HV_IN_STATUS = 1 << 2,  /* a STATUS reply */
	HV_IN_RESULT = 1 << 3,  /* a CREATE reply */
	HV_NEED_CREATE = 1 << 4, /* a CREATE without it is refused */
	HV_NEED_META = 1 << 5,   /* metadata without it is not hvd's */
	HV_PHASE = 1 << 6,       /* a phase time: absent while < 0 */
};

enum hv_field_type { HV_F_NAME, HV_F_CORES, HV_F_VIRT, HV_F_PATH, HV_F_U32, HV_F_U64, HV_F_TIME, HV_F_MS };

struct hv_field {
	const char *name;
	enum hv_field_type type;
	size_t off, size;
	uint64_t min, max; /* numbers; min only binds a CREATE */
	unsigned flags;
};

extern const struct hv_field HV_VMDESC_FIELDS[];
extern const size_t HV_VMDESC_NFIELDS;

/* An empty descriptor: phase times -1, one CPU. */
void hv_vmdesc_init(struct hv_vmdesc *d);
/* The field's value as text into out; false if it has none to give (an
 * empty string, a phase not yet run). */
bool hv_field_format(const struct hv_field *f, const struct hv_vmdesc *d, char *out, size_t outsz);
/* Set the field from text, checked as hostile input (in: HV_IN_CREATE
 * applies the lower bounds a request must meet). */
int hv_field_parse(const struct hv_field *f, struct hv_vmdesc *d, const char *text, unsigned in,
		   struct vj_err *err);
/* The fields marked `in` into a reply. */
void hv_vmdesc_to_kv(const struct hv_vmdesc *d, unsigned in, struct vj_kvbuf *kv);
/* A CREATE request's payload into d: every HV_IN_CREATE field, checked. */
int hv_vmdesc_from_kv(const void *p, size_t len, struct hv_vmdesc *d, struct vj_err *err);

#endif
