/* SPDX-License-Identifier: MIT */
/*
 * testpoint.c - pause points for the crash tests.
 *
 * Built into the programs as a no-op.  The test build of git-bbs
 * (tests/git-bbs-testhooks, compiled with BBS_TEST_HOOKS) stops itself
 * with SIGSTOP at the step named by BBS_TEST_STOP_AT, so that a test can
 * kill it there with SIGKILL, and makes the step named by BBS_TEST_FAIL_AT
 * fail.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

#ifdef BBS_TEST_HOOKS
/* Does the environment variable `var` name `step`? */
static int
step_named(const char *var, const char *step)
{
	const char *at = getenv(var);

	return at != NULL && strcmp(at, step) == 0;
}
#endif

void
store_testpoint(const char *step)
{
#ifdef BBS_TEST_HOOKS
	if (step_named("BBS_TEST_STOP_AT", step))
		raise(SIGSTOP);
#else
	(void)step;
#endif
}

/* Is `step` to fail (the test build only, BBS_TEST_FAIL_AT)? */
int
store_testfail(const char *step)
{
#ifdef BBS_TEST_HOOKS
	return step_named("BBS_TEST_FAIL_AT", step);
#else
	(void)step;
	return 0;
#endif
}
