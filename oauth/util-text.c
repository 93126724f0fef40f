/* SPDX-License-Identifier: MIT */
/*
 * util-text.c - text from a peer, made safe for a terminal.
 *
 * A server's messages (side-band progress, remote errors, push reasons)
 * reach the user's terminal.  Control bytes in them could move the cursor,
 * rewrite what is on screen or change the terminal's settings, so they
 * are shown in caret notation instead, as git shows side-band text.
 */
#include "config.h"

#include <stdlib.h>

#include "oauth.h"

/* Whether `c` passes through unchanged. */
static int
text_byte_ok(unsigned char c, int allow_crlf)
{
	if (c == '\t')
		return 1;
	if (allow_crlf && (c == '\n' || c == '\r'))
		return 1;
	return c >= 0x20 && c != 0x7f;
}

int
text_sanitize(struct buf *out, const char *s, size_t len, int allow_crlf)
{
	size_t i, start = 0;
	unsigned char c;
	char caret[2];
	int r;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (text_byte_ok(c, allow_crlf))
			continue;
		if (i > start && (r = buf_add(out, s + start, i - start)) != 0)
			return r;
		caret[0] = '^';
		caret[1] = c == 0x7f ? '?' : (char)(c + 0x40);
		if ((r = buf_add(out, caret, 2)) != 0)
			return r;
		start = i + 1;
	}
	if (len > start)
		return buf_add(out, s + start, len - start);
	return 0;
}

char *
text_sanitized(const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, len > SIZE_MAX / 2 - 1 ? SIZE_MAX : 2 * len + 1);
	if (text_sanitize(&b, s, len, 0) != 0)
		abort();	/* cannot happen: the bound fits the worst case */
	return buf_detach(&b);
}
