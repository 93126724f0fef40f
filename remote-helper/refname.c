/* SPDX-License-Identifier: MIT */
/*
 * refname.c - git's rules for ref names, applied to what a server
 * advertises before any of it reaches git.
 *
 * These are the rules of git's check_refname_format (as `git
 * check-ref-format` applies them), plus three of our own: the only
 * one-level name is HEAD, no name starts with '-', and no name holds a C1
 * control (text_char), which git would print to the terminal as it is.
 */
#include "config.h"

#include <string.h>

#include "helper.h"

/* Bytes no ref name may hold anywhere. */
static int
refname_bad_byte(unsigned char c)
{
	switch (c) {
	case ' ': case '~': case '^': case ':': case '?': case '*': case '[':
	case '\\':
		return 1;
	default:
		return c < 0x20 || c == 0x7f;
	}
}

/*
 * Check the component at `s`/`len` (no '/' in it); 1 if git accepts it.
 * `last` tells whether it ends the name.
 */
static int
refname_component_ok(const char *s, size_t len, int last)
{
	if (len == 0 || s[0] == '.')
		return 0;
	if (len >= 5 && memcmp(s + len - 5, ".lock", 5) == 0)
		return 0;
	if (last && s[len - 1] == '.')
		return 0;
	return 1;
}

int
refname_ok(const char *name, size_t len)
{
	size_t i, start = 0;

	if (len == 0 || name[0] == '-')
		return 0;
	if (len == 1 && name[0] == '@')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		size_t n;
		int c1;

		if (c >= 0x80) {
			n = text_char(name + i, len - i, &c1);
			if (c1)
				return 0;
			i += n - 1;
			continue;
		}
		if (refname_bad_byte(c))
			return 0;
		if (c == '.' && i + 1 < len && name[i + 1] == '.')
			return 0;
		if (c == '@' && i + 1 < len && name[i + 1] == '{')
			return 0;
		if (c != '/')
			continue;
		if (!refname_component_ok(name + start, i - start, 0))
			return 0;
		start = i + 1;
	}
	if (!refname_component_ok(name + start, len - start, 1))
		return 0;
	/* a one-level name: only HEAD */
	if (start == 0)
		return len == 4 && memcmp(name, "HEAD", 4) == 0;
	return 1;
}

int
oid_hex_ok(const char *s, size_t len)
{
	size_t i;

	if (len != OID_HEX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
