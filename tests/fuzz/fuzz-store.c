/* SPDX-License-Identifier: MIT */
/*
 * fuzz-store.c - the token store file (store_decode / store_encode) and
 * the grant codec of the credential-helper store (store_grant_decode /
 * store_grant_encode).
 *
 * Oracle: a grant that decodes has a key and an account (store file), an
 * access token, tokens of RFC 6750 b64token characters only and a
 * non-negative expiry; encoding what was decoded and decoding it again
 * gives the same grants, and a second encoding is byte for byte the
 * first (damaged grants included: they are written back as read).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int
b64token(const char *t)
{
	size_t i = 0;

	while (t[i] != '\0' && (((t[i] | 0x20) >= 'a' &&
	    (t[i] | 0x20) <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
	    strchr("-._~+/", t[i]) != NULL))
		i++;
	if (i == 0)
		return 0;
	while (t[i] == '=')
		i++;
	return t[i] == '\0';
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_grant(const struct store_entry *e, int names)
{
	if (names && (e->key == NULL || e->account == NULL))
		abort();
	if (e->tok.access_token == NULL || !b64token(e->tok.access_token))
		abort();
	if (e->tok.refresh_token != NULL && !b64token(e->tok.refresh_token))
		abort();
	if (e->tok.expires_at < 0)
		abort();
}

static void
check_same(const struct store_entry *a, const struct store_entry *b,
    int names)
{
	if ((names && (!same(a->key, b->key) || !same(a->account,
	    b->account))) || !same(a->provider, b->provider) ||
	    !same(a->tok.access_token, b->tok.access_token) ||
	    !same(a->tok.refresh_token, b->tok.refresh_token) ||
	    !same(a->tok.token_type, b->tok.token_type) ||
	    !same(a->tok.scope, b->tok.scope) ||
	    !same(a->tok.redirect_uri, b->tok.redirect_uri) ||
	    a->tok.expires_at != b->tok.expires_at)
		abort();
}

static void
fuzz_store(const uint8_t *data, size_t size)
{
	struct store a, b;
	char *t1, *t2;
	size_t i, l1, l2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (store_decode(&a, (const char *)data, size) != 0) {
		if (a.nr != 0 || a.raw_nr != 0)
			abort();
		store_release(&a);
		err_clear();
		return;
	}
	for (i = 0; i < a.nr; i++)
		check_grant(&a.e[i], 1);
	if ((t1 = store_encode(&a, &l1)) == NULL)
		abort();
	if (store_decode(&b, t1, l1) != 0 || b.nr != a.nr ||
	    b.raw_nr != a.raw_nr)
		abort();
	for (i = 0; i < a.nr; i++)
		check_same(&a.e[i], &b.e[i], 1);
	if ((t2 = store_encode(&b, &l2)) == NULL || l1 != l2 ||
	    memcmp(t1, t2, l1) != 0)
		abort();
	free(t1);
	free(t2);
	store_release(&a);
	store_release(&b);
}

static void
fuzz_grant(const uint8_t *data, size_t size)
{
	struct store_entry a, b;
	char *text = malloc(size + 1), *t1;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (store_grant_decode(text, &a) == 0) {
		check_grant(&a, 0);
		if ((t1 = store_grant_encode(&a)) == NULL ||
		    store_grant_decode(t1, &b) != 0)
			abort();
		check_same(&a, &b, 0);
		free(t1);
	}
	err_clear();
	free(a.provider);
	oauth_token_release(&a.tok);
	free(b.provider);
	oauth_token_release(&b.tok);
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	oauth_json_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_store(data, size);
	fuzz_grant(data, size);
	return 0;
}
