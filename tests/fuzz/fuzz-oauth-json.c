/* SPDX-License-Identifier: MIT */
/*
 * fuzz-oauth-json.c - the authorization server's JSON answers: token,
 * metadata (discovery), device authorization, user info and
 * introspection.
 *
 * The first byte picks the parser (and, for token and device answers, the
 * HTTP status); the rest is the body.  Oracle: a parse that succeeds never
 * yields a token outside RFC 6750 b64token, an expiry or interval out of
 * bounds, an endpoint that breaks the endpoint rule, printable text with
 * a control byte, or an error message of more than one line.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1700000000)

static void
check_message(void)
{
	const char *m = err_message();

	if (m != NULL && oauth_text_has_control(m))
		abort();
	err_clear();
}

static void
fuzz_token(long status, const char *body, size_t len)
{
	struct oauth_token t;
	char *oerr = NULL;

	if (oauth_token_parse(&t, status, body, len, NOW, &oerr) == 0) {
		if (!oauth_token_syntax_ok(t.access_token) ||
		    (t.refresh_token != NULL &&
		    !oauth_token_syntax_ok(t.refresh_token)))
			abort();
		if (t.expires_at != 0 && (t.expires_at < NOW + 1 ||
		    t.expires_at > NOW + OAUTH_EXPIRES_MAX))
			abort();
		oauth_token_release(&t);
	}
	free(oerr);
	check_message();
}

static void
fuzz_device(long status, const char *body, size_t len)
{
	struct oauth_device d;

	if (oauth_device_parse(&d, status, body, len) == 0) {
		if (d.expires_in < 1 || d.expires_in > OAUTH_DEVICE_EXPIRES_MAX ||
		    d.interval < 1 || d.interval > OAUTH_DEVICE_INTERVAL_MAX)
			abort();
		if (!oauth_token_syntax_ok(d.device_code) ||
		    oauth_text_has_control(d.user_code) ||
		    oauth_endpoint_check("v", d.verification_uri) != 0 ||
		    oauth_endpoint_check("v", d.verification_uri_complete) != 0)
			abort();
		oauth_device_release(&d);
	}
	check_message();
}

static void
fuzz_metadata(const char *body, size_t len)
{
	struct oauth_endpoints e;

	memset(&e, 0, sizeof(e));
	if (oauth_metadata_parse(&e, "https://as.example", body, len) == 0 &&
	    strcmp(e.issuer, "https://as.example") != 0)
		abort();
	/* what discovery keeps is checked next: the check must not crash */
	(void)oauth_endpoints_check(&e);
	check_message();
	oauth_endpoints_release(&e);
}

static void
fuzz_userinfo(const char *body, size_t len)
{
	char *name = oauth_userinfo_name(body, len);

	if (name != NULL && (oauth_text_has_control(name) ||
	    strlen(name) == 0 || strlen(name) > 255))
		abort();
	free(name);
	/* the same body as an introspection answer (RFC 7662) */
	name = oauth_introspection_name(body, len, "bbs-test-client");
	if (name != NULL && (oauth_text_has_control(name) ||
	    strlen(name) == 0 || strlen(name) > 255))
		abort();
	free(name);
	err_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 400, 401, 500 };
	static int init;
	const char *body;
	long status;

	if (!init) {
		oauth_json_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	status = statuses[(data[0] >> 2) % BBS_ARRAY_SIZE(statuses)];
	switch (data[0] & 3) {
	case 0:
		fuzz_token(status, body, size - 1);
		break;
	case 1:
		fuzz_device(status, body, size - 1);
		break;
	case 2:
		fuzz_metadata(body, size - 1);
		break;
	default:
		fuzz_userinfo(body, size - 1);
		break;
	}
	return 0;
}
