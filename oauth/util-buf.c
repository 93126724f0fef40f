/* SPDX-License-Identifier: MIT */
/*
 * util-buf.c - growable buffers with a hard maximum size.
 *
 * Everything read from the network or from stdin goes into one of these,
 * so a hostile peer can make us fail but never make us allocate without
 * bound.  Secret buffers are wiped whenever their memory is given back.
 *
 * Errors are sticky: once an append fails the buffer remembers the code,
 * later appends do nothing and return it, and buf_error() tells the user
 * of the buffer (a form, a request) before it sends anything, so a
 * half-built buffer never leaves the process.  Only buf_release() and
 * buf_detach() forget the error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : BUF_MAX_DEFAULT;
}

void
buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Mark `b` failed with `code` (kept until release) and return it. */
static int
buf_fail(struct buf *b, int code)
{
	b->err = code ? code : BBS_E_ERROR;
	return b->err;
}

int
buf_error(const struct buf *b)
{
	return b->err;
}

static int
buf_grow(struct buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->err != 0)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return buf_fail(b, err_set(BBS_E_TOO_BIG,
		    "data exceeds the limit of %zu bytes", b->max));
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (b->secret) {
		/* realloc could leave a copy behind: move by hand, wipe, free */
		p = xmalloc(cap);
		if (b->ptr != NULL) {
			memcpy(p, b->ptr, b->len + 1);
			secret_wipe(b->ptr, b->cap);
			free(b->ptr);
		}
	} else
		p = xrealloc(b->ptr, cap);
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	int r;

	if ((r = buf_grow(b, len)) != 0)
		return r;
	if (len > 0)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	if (b->err != 0)
		return b->err;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return buf_fail(b, err_set(BBS_E_ERROR,
		    "cannot format a string"));
	if ((r = buf_grow(b, (size_t)n)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		if (b->secret && b->ptr != NULL)
			secret_wipe(b->ptr, b->len);
		b->len = 0;
		if (b->ptr != NULL)
			b->ptr[0] = '\0';
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	if (b->secret)
		secret_wipe(b->ptr + b->len - n, n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	buf_consume(b, b->len);
}

void
buf_release(struct buf *b)
{
	size_t max = b->max;
	int secret = b->secret;

	if (b->ptr != NULL && b->secret)
		secret_wipe(b->ptr, b->cap);
	free(b->ptr);
	buf_init(b, max);
	b->secret = secret;
}

char *
buf_detach(struct buf *b)
{
	char *p = b->ptr;
	size_t max = b->max;
	int secret = b->secret;

	if (p == NULL)
		p = xstrdup("");
	buf_init(b, max);
	b->secret = secret;
	return p;
}
