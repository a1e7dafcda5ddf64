/* Minimal assertion helpers for vmjob's C unit tests: each CHECK counts, a
 * failure prints file:line and the expression, main returns non-zero. */
#ifndef VJ_CHECK_H
#define VJ_CHECK_H
#include <stdio.h>

static int vj_checks, vj_failures;
#define CHECK(expr)                                                                  \
	do {                                                                         \
		vj_checks++;                                                         \
		if (!(expr)) {                                                       \
			vj_failures++;                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                    \
	} while (0)
#define CHECK_DONE()                                                                 \
	(printf("%s: %d checks, %d failed\n", __FILE__, vj_checks, vj_failures), vj_failures != 0)
#endif
