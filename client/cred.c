/* The only code of vmjob's clients that calls libmunge (cred.h). */
#include "cred.h"

#include <errno.h>
#include <munge.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "hvdclient.h"

static void ctx_destroyp(munge_ctx_t *ctx)
{
	if (*ctx)
		munge_ctx_destroy(*ctx);
}

char *vj_hvd_cred(const char *what, struct vj_err *err)
{
	__attribute__((cleanup(ctx_destroyp))) munge_ctx_t ctx = munge_ctx_create();
	if (!ctx) {
		vj_err_set(err, ENOMEM, "cannot get a munge credential: out of memory");
		return NULL;
	}
	/* Only root (hvd) may decode it: no other local service can be handed a
	 * credential meant for hvd and take it for its own. */
	munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, (uid_t)0);
	cleanup_free char *cred = NULL;
	munge_err_t e = munge_encode(&cred, ctx, what, (int)strlen(what));
	if (e != EMUNGE_SUCCESS) {
		const char *why = munge_ctx_strerror(ctx);
		vj_err_set(err, VJ_HVD_NO_CRED,
			   "cannot get a munge credential (is munged running?): %s",
			   why ? why : munge_strerror(e));
		return NULL;
	}
	return vj_steal_ptr(cred);
}
