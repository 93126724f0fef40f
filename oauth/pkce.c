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

/* The 6-bit value of a base64url character, or -1. */
static int
b64url_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

int
base64url_decode(unsigned char *out, size_t cap, size_t *outlen,
    const char *in, size_t len)
{
	unsigned v = 0;
	size_t i, n = 0;
	int bits = 0, d;

	*outlen = 0;
	if (len % 4 == 1 || (len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = b64url_value((unsigned char)in[i])) < 0)
			return -1;
		v = (v << 6 | (unsigned)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	/* the bits left over must be zero: one text per byte string */
	if ((v & ((1u << bits) - 1)) != 0) {
		secret_wipe(out, n);
		return -1;
	}
	*outlen = n;
	return 0;
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
