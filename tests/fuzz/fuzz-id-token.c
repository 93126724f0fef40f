/* SPDX-License-Identifier: MIT */
/*
 * fuzz-id-token.c - OpenID ID tokens from the token endpoint, and the
 * base64url decoder under them.
 *
 * The first byte picks the check; the rest is the input.
 *   'b' (and any byte but 'j'): base64url_decode.  Oracle: a decode that
 *       succeeds re-encodes to exactly the input (one text per byte
 *       string), never writes past its buffer, and a failed one reports
 *       length 0; the input's bytes encoded and decoded come back as they
 *       were.
 *   'j': oauth_id_token_name against issuer https://as.example, client
 *       bbs-test-client.  Oracle: a name is 1 to 255 bytes without control
 *       bytes; a failure always says why; the same token for another
 *       client or issuer is trusted only if it names them too (checked by
 *       decoding the payload here: the claims must hold the client id and
 *       the issuer as JSON strings).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1700000000)
#define ISSUER "https://as.example"
#define CLIENT "bbs-test-client"

static void
fuzz_decode(const char *in, size_t len)
{
	unsigned char *out = malloc(len + 1), *back;
	char *text;
	size_t n = 1, m;

	if (out == NULL)
		abort();
	if (base64url_decode(out, len, &n, in, len) == 0) {
		if (n > len)
			abort();
		text = malloc(n * 4 / 3 + 4);
		if (text == NULL)
			abort();
		base64url_encode(text, out, n);
		if (strlen(text) != len || memcmp(text, in, len) != 0)
			abort();
		free(text);
	} else if (n != 0)
		abort();
	/* the other way round: any bytes survive encoding and decoding */
	text = malloc(len * 4 / 3 + 4);
	back = malloc(len + 1);
	if (text == NULL || back == NULL)
		abort();
	base64url_encode(text, (const unsigned char *)in, len);
	if (base64url_decode(back, len, &m, text, strlen(text)) != 0 ||
	    m != len || memcmp(back, in, len) != 0)
		abort();
	/* one byte short of room: refused, never overrun */
	if (len > 0 && base64url_decode(back, len - 1, &m, text,
	    strlen(text)) == 0)
		abort();
	free(text);
	free(back);
	free(out);
}

/* Whether the decoded payload of `jwt` holds `s` as a JSON string. */
static int
payload_mentions(const char *jwt, const char *s)
{
	const char *p1 = strchr(jwt, '.'), *p2;
	unsigned char *raw;
	char *quoted;
	size_t n;
	int found = 0;

	if (p1 == NULL || (p2 = strchr(p1 + 1, '.')) == NULL)
		return 0;
	raw = malloc((size_t)(p2 - p1) + 1);
	quoted = malloc(strlen(s) + 3);
	if (raw == NULL || quoted == NULL)
		abort();
	quoted[0] = '"';
	memcpy(quoted + 1, s, strlen(s));
	quoted[strlen(s) + 1] = '"';
	quoted[strlen(s) + 2] = '\0';
	if (base64url_decode(raw, (size_t)(p2 - p1), &n, p1 + 1,
	    (size_t)(p2 - p1 - 1)) == 0) {
		raw[n] = '\0';
		found = memmem(raw, n, quoted, strlen(quoted)) != NULL;
	}
	free(raw);
	free(quoted);
	return found;
}

static void
fuzz_jwt(const char *jwt)
{
	const char *why = NULL;
	char *name = oauth_id_token_name(jwt, ISSUER, CLIENT, NOW, &why);

	if (name == NULL) {
		if (why == NULL)
			abort();
	} else {
		if (strlen(name) == 0 || strlen(name) > 255 ||
		    oauth_text_has_control(name))
			abort();
		if (!payload_mentions(jwt, CLIENT) ||
		    !payload_mentions(jwt, ISSUER))
			abort();
		free(name);
	}
	/* nothing is trusted without an issuer or a client to check */
	if (oauth_id_token_name(jwt, NULL, CLIENT, NOW, NULL) != NULL ||
	    oauth_id_token_name(jwt, ISSUER, NULL, NOW, NULL) != NULL)
		abort();
	name = oauth_id_token_name(jwt, ISSUER, "x-other-client", NOW, NULL);
	if (name != NULL && !payload_mentions(jwt, "x-other-client"))
		abort();
	free(name);
	err_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char *text;

	if (!init) {
		oauth_json_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	text = malloc(size);
	if (text == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] == 'j')
		fuzz_jwt(text);
	else
		fuzz_decode((const char *)data + 1, size - 1);
	free(text);
	return 0;
}
