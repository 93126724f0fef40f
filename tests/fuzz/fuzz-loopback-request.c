/* SPDX-License-Identifier: MIT */
/*
 * fuzz-loopback-request.c - the request head a browser sends to the
 * sign-in listener (loopback_request_parse), then the authorization
 * response in its query (authz_response_check).
 *
 * Oracle: a parse that succeeds points inside the input and gives a query
 * without control bytes; a code that comes out is non-empty and of
 * %x20-7E only; a failed check gives no code.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

#define STATE "st4te-Of-the-test"

static void
check_code(const char *code)
{
	const char *p;

	if (*code == '\0')
		abort();
	for (p = code; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *req = (const char *)data, *q;
	struct authz_expect x = { STATE, NULL, 0 };
	char *query, *code = NULL;
	size_t qlen, i;
	int r;

	r = loopback_request_parse(req, size, &q, &qlen);
	if (r != 1) {
		if (r != 0 && r != -1)
			abort();
		if (q != NULL || qlen != 0)
			abort();
		return 0;
	}
	if (q < req || q > req + size || qlen > (size_t)(req + size - q))
		abort();
	for (i = 0; i < qlen; i++)
		if ((unsigned char)q[i] < 0x20 || q[i] == 0x7f)
			abort();
	query = xstrndup(q, qlen);
	r = authz_response_check(query, &x, &code);
	if (r == 0)
		check_code(code);
	else if (code != NULL)
		abort();
	secret_free(code);
	free(query);
	err_clear();
	return 0;
}
