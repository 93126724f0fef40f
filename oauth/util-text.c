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

/* Whether `c` passes through unchanged under `flags` (TEXT_*). */
static int
text_byte_ok(unsigned char c, int flags)
{
	if (c == '\t')
		return !(flags & TEXT_NO_TAB);
	if ((flags & TEXT_CRLF) && (c == '\n' || c == '\r'))
		return 1;
	return c >= 0x20 && c != 0x7f;
}

/* `c` in caret notation ("^[" for ESC, "^?" for DEL) into `out`. */
static void
text_caret(unsigned char c, char out[2])
{
	out[0] = '^';
	out[1] = c == 0x7f ? '?' : (char)(c + 0x40);
}

int
text_sanitize(struct buf *out, const char *s, size_t len, int flags)
{
	size_t i, start = 0;
	unsigned char c;
	char caret[2];
	int r;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (text_byte_ok(c, flags))
			continue;
		if (i > start && (r = buf_add(out, s + start, i - start)) != 0)
			return r;
		text_caret(c, caret);
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

char *
text_cleaned(const char *s, size_t max)
{
	char *out = xmalloc(max + 1);
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (text_byte_ok(c, TEXT_NO_TAB)) {
			if (n + 1 > max)
				break;
			out[n++] = (char)c;
		} else {
			if (n + 2 > max)
				break;
			text_caret(c, out + n);
			n += 2;
		}
	}
	out[n] = '\0';
	return out;
}
