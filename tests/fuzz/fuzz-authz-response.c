/* SPDX-License-Identifier: MIT */
/*
 * fuzz-authz-response.c - the query of an authorization response
 * (authz_response_check over query_get): from the loopback listener, the
 * private-use scheme hand-off and the paste-back prompt.
 *
 * Oracle: a code that comes out is non-empty and of %x20-7E only, and
 * only with the expected state; a failed check gives no code, and its
 * message (which may quote the server's error) no control byte, C1
 * controls included.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

#define STATE "st4te-Of-the-test"
#define ISSUER "https://issuer.example"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the first byte picks the expectation: issuer checked, required */
	struct authz_expect x = { STATE, NULL, 0 };
	char *query, *code = NULL, *state;
	const char *p, *msg;
	size_t i, n, len;
	int r, c1;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		x.issuer = ISSUER;
	x.iss_required = (data[0] & 2) != 0;
	query = xstrndup((const char *)data + 1, size - 1);
	r = authz_response_check(query, &x, &code);
	if (r == 0) {
		if (code == NULL || *code == '\0')
			abort();
		for (p = code; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				abort();
		state = query_get(query, "state", NULL);
		if (state == NULL || strcmp(state, STATE) != 0)
			abort();
		secret_free(state);
	} else {
		if (code != NULL)
			abort();
		msg = err_message();
		len = msg != NULL ? strlen(msg) : 0;
		for (i = 0; i < len; i += n) {
			n = text_char(msg + i, len - i, &c1);
			if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ||
			    c1)
				abort();
		}
	}
	secret_free(code);
	free(query);
	err_clear();
	return 0;
}
