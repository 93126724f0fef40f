/* SPDX-License-Identifier: MIT */
/*
 * util-secret.c - wiping and comparing secrets.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "oauth.h"

void
secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

/*
 * Blocks for libraries that copy secrets around (libcurl, OpenSSL): the
 * size is kept in front of each block, so that free and realloc can wipe
 * the whole block before giving it back.
 */
#define SECRET_HDR 16		/* keeps malloc's alignment */

void *
secret_malloc(size_t size)
{
	unsigned char *p;

	if (size > SIZE_MAX - SECRET_HDR ||
	    (p = malloc(size + SECRET_HDR)) == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	return p + SECRET_HDR;
}

void
secret_mfree(void *ptr)
{
	unsigned char *p = ptr;
	size_t size;

	if (p == NULL)
		return;
	p -= SECRET_HDR;
	memcpy(&size, p, sizeof(size));
	secret_wipe(p, size + SECRET_HDR);
	free(p);
}

void *
secret_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((p = secret_malloc(nmemb * size)) != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

void *
secret_realloc(void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (ptr == NULL)
		return secret_malloc(size);
	if (size == 0) {
		secret_mfree(ptr);
		return NULL;
	}
	memcpy(&old, (unsigned char *)ptr - SECRET_HDR, sizeof(old));
	/* never realloc in place: the old block is wiped, not left behind */
	if ((p = secret_malloc(size)) == NULL)
		return NULL;
	memcpy(p, ptr, old < size ? old : size);
	secret_mfree(ptr);
	return p;
}

char *
secret_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = secret_malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

static void *
ossl_malloc(size_t size, const char *file, int line)
{
	(void)file;
	(void)line;
	return secret_malloc(size);
}

static void *
ossl_realloc(void *ptr, size_t size, const char *file, int line)
{
	(void)file;
	(void)line;
	return secret_realloc(ptr, size);
}

static void
ossl_free(void *ptr, const char *file, int line)
{
	(void)file;
	(void)line;
	secret_mfree(ptr);
}

int
secret_openssl_init(void)
{
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free) != 1)
		return err_set(BBS_E_ERROR, "OpenSSL allocated memory before "
		    "its wiping allocator could be installed");
	return 0;
}

/* stdio's buffers for stdin and stdout, ours so that they can be wiped. */
static char stdin_buf[BUFSIZ], stdout_buf[BUFSIZ];

int
secret_stdio_init(void)
{
	if (setvbuf(stdin, stdin_buf, _IOFBF, sizeof(stdin_buf)) != 0 ||
	    setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF :
	    _IOFBF, sizeof(stdout_buf)) != 0)
		return err_set(BBS_E_ERROR, "cannot set the buffers of stdin "
		    "and stdout");
	return 0;
}

int
secret_stdio_wipe(void)
{
	int r = fflush(stdout) == 0 ? 0 : err_set(BBS_E_IO, "cannot write "
	    "to stdout");

	secret_wipe(stdin_buf, sizeof(stdin_buf));
	secret_wipe(stdout_buf, sizeof(stdout_buf));
	return r;
}
