/* SPDX-License-Identifier: MIT */
/*
 * util-text.c - text from a peer, made safe for a terminal.
 *
 * A server's messages (side-band progress, remote errors, push reasons)
 * reach the user's terminal.  Control bytes in them could move the cursor,
 * rewrite what is on screen or change the terminal's settings, so they
 * are shown in caret notation instead, as git shows side-band text.  The
 * C1 controls count too: a terminal takes U+009B (UTF-8 C2 9B) for the
 * CSI that starts an escape sequence, as it takes a lone byte 0x9b in an
 * 8-bit locale.  Well-formed UTF-8 otherwise passes unchanged.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "oauth.h"

/* Whether ASCII `c` passes through unchanged under `flags` (TEXT_*). */
static int
text_byte_ok(unsigned char c, int flags)
{
	if (c == '\t')
		return !(flags & TEXT_NO_TAB);
	if ((flags & TEXT_CRLF) && (c == '\n' || c == '\r'))
		return 1;
	return c >= 0x20 && c != 0x7f;
}

/*
 * The UTF-8 sequence starting at `s` (`len` bytes left): its length, 2 to
 * 4, when it is complete and well-formed (no overlong form, surrogate or
 * code point past U+10FFFF); otherwise 0, with `*missing` set to how many
 * bytes it lacks when it is a well-formed start cut short by the end.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t *missing)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	*missing = 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* the second byte's range excludes overlongs and surrogates */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (i >= len) {
			*missing = n - i;
			return 0;
		}
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

size_t
text_char(const char *str, size_t len, int *c1)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n, missing;

	*c1 = 0;
	if (s[0] < 0x80)
		return 1;
	n = utf8_seq(s, len, &missing);
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		*c1 = 1;	/* U+0080 to U+009F */
	else if (n == 0 && s[0] < 0xa0)
		*c1 = 1;	/* a byte outside any character */
	return n ? n : 1;
}

size_t
text_partial(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k, missing;

	for (k = 1; k <= 3 && k <= len; k++) {
		if ((s[len - k] & 0xc0) == 0x80)
			continue;	/* a continuation byte: look further */
		if (utf8_seq(s + len - k, k, &missing) == 0 && missing > 0)
			return k;
		return 0;
	}
	return 0;
}

/*
 * How the character at `s` is shown: the number of bytes it takes, with
 * `rep`/`*replen` its replacement, or `*replen` 0 when it passes as it
 * is.  C0 controls are shown in caret notation ("^["), C1 controls as
 * cat -v shows them ("M-^[" for U+009B).
 */
static size_t
text_shown(const char *s, size_t len, int flags, char rep[4], size_t *replen)
{
	unsigned char c = (unsigned char)s[0];
	size_t n;
	int c1;

	*replen = 0;
	if (c < 0x80) {
		if (!text_byte_ok(c, flags)) {
			rep[0] = '^';
			rep[1] = c == 0x7f ? '?' : (char)(c + 0x40);
			*replen = 2;
		}
		return 1;
	}
	n = text_char(s, len, &c1);
	if (c1) {
		c = (unsigned char)s[n - 1];	/* 0x80 to 0x9f */
		rep[0] = 'M';
		rep[1] = '-';
		rep[2] = '^';
		rep[3] = (char)(c - 0x80 + 0x40);
		*replen = 4;
	}
	return n;
}

int
oauth_text_is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n, missing;

	while (i < len) {
		if (p[i] < 0x80)
			n = 1;
		else if ((n = utf8_seq(p + i, len - i, &missing)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

int
oauth_text_has_control(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0, i = 0, replen;
	char rep[4];

	while (i < len) {
		i += text_shown(s + i, len - i, TEXT_NO_TAB, rep, &replen);
		if (replen > 0)
			return 1;
	}
	return 0;
}

int
text_sanitize(struct buf *out, const char *s, size_t len, int flags)
{
	size_t i = 0, start = 0, n, replen;
	char rep[4];
	int r;

	while (i < len) {
		n = text_shown(s + i, len - i, flags, rep, &replen);
		if (replen > 0) {
			if (i > start &&
			    (r = buf_add(out, s + start, i - start)) != 0)
				return r;
			if ((r = buf_add(out, rep, replen)) != 0)
				return r;
			start = i + n;
		}
		i += n;
	}
	if (len > start)
		return buf_add(out, s + start, len - start);
	return 0;
}

char *
text_sanitized(const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, len > SIZE_MAX / TEXT_GROWTH - 1 ? SIZE_MAX :
	    TEXT_GROWTH * len + 1);
	if (text_sanitize(&b, s, len, 0) != 0)
		abort();	/* cannot happen: the bound fits the worst case */
	return buf_detach(&b);
}

char *
text_cleaned(const char *s, size_t max)
{
	char *out = xmalloc(max + 1), rep[4];
	size_t i = 0, n = 0, len = strlen(s), step, replen, add;

	while (i < len) {
		step = text_shown(s + i, len - i, TEXT_NO_TAB, rep, &replen);
		add = replen > 0 ? replen : step;
		if (n + add > max)
			break;
		memcpy(out + n, replen > 0 ? rep : s + i, add);
		n += add;
		i += step;
	}
	out[n] = '\0';
	return out;
}
