/* SPDX-License-Identifier: MIT */
/*
 * pkce.c - randomness, PKCE S256 (RFC 7636) and base64url.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "oauth.h"

void
base64url_encode(char *out, const unsigned char *in, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;
	char *p = out;
	unsigned v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*p++ = tbl[(v >> 18) & 63];
		*p++ = tbl[(v >> 12) & 63];
		*p++ = tbl[(v >> 6) & 63];
		*p++ = tbl[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned)in[i] << 16;
		*p++ = tbl[(v >> 18) & 63];
		*p++ = tbl[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*p++ = tbl[(v >> 18) & 63];
		*p++ = tbl[(v >> 12) & 63];
		*p++ = tbl[(v >> 6) & 63];
	}
	*p = '\0';
}

int
random_token(char *out, size_t outlen, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw) || outlen < (nbytes * 4 + 2) / 3 + 1)
		return err_set(BBS_E_INVALID, "random token too long");
	if (RAND_bytes(raw, (int)nbytes) != 1)
		return err_set(BBS_E_ERROR, "no randomness available");
	base64url_encode(out, raw, nbytes);
	secret_wipe(raw, sizeof(raw));
	return 0;
}

int
pkce_challenge(const char *verifier, char challenge[PKCE_CHALLENGE_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (SHA256((const unsigned char *)verifier, strlen(verifier), md) ==
	    NULL)
		return err_set(BBS_E_ERROR, "SHA-256 failed");
	base64url_encode(challenge, md, sizeof(md));
	return 0;
}

int
pkce_new(char verifier[PKCE_VERIFIER_LEN + 1],
    char challenge[PKCE_CHALLENGE_LEN + 1])
{
	int r;

	if ((r = random_token(verifier, PKCE_VERIFIER_LEN + 1, 32)) != 0)
		return r;
	return pkce_challenge(verifier, challenge);
}
