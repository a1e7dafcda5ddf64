/* The munge step of a request, alone in cred.c so that it is the one part of
 * client/ that needs munged. Unit tests link their own vj_hvd_cred (an
 * object that defines it keeps cred.o out of the link) and so drive the
 * whole request path, credential placement and hash included, without it. */
#ifndef VMJOB_CRED_H
#define VMJOB_CRED_H

#include "err.h"

/* A munge credential (munge_encode, decodable by root only) whose payload is
 * `what` (VJ_CRED_FMT, common/reqcred.h). malloc'd, or NULL with err set
 * (err->code VJ_HVD_NO_CRED, or ENOMEM). */
char *vj_hvd_cred(const char *what, struct vj_err *err);

#endif
