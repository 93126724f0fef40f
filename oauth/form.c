/* SPDX-License-Identifier: MIT */
/*
 * form.c - application/x-www-form-urlencoded and query strings.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

int
url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];
	int r;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			r = buf_add(b, s, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			r = buf_add(b, esc, 3);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

int
form_add(struct buf *b, const char *key, const char *value)
{
	int r;

	if (b->len > 0 && (r = buf_add(b, "&", 1)) != 0)
		return r;
	if ((r = url_encode(b, key)) != 0 || (r = buf_add(b, "=", 1)) != 0)
		return r;
	return url_encode(b, value);
}

static int
hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *
percent_decode(const char *s, size_t len, int plus_is_space)
{
	char *out = xmalloc(len + 1), *p = out;
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+' && plus_is_space)
			*p++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= len)
				goto bad;
			hi = hexdigit((unsigned char)s[i + 1]);
			lo = hexdigit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*p++ = s[i];
	}
	*p = '\0';
	return out;
bad:
	secret_wipe(out, len + 1);
	free(out);
	return NULL;
}

char *
query_get(const char *query, const char *key, int *dup)
{
	size_t klen = strlen(key), plen;
	const char *p = query, *amp, *eq;
	char *found = NULL, *v;

	if (dup != NULL)
		*dup = 0;
	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		plen = amp ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', plen);
		if (eq != NULL && (size_t)(eq - p) == klen &&
		    strncmp(p, key, klen) == 0) {
			v = percent_decode(eq + 1, plen - klen - 1, 1);
			if (found != NULL) {
				if (dup != NULL)
					*dup = 1;
				secret_free(v);
			} else
				found = v;
		}
		p = amp ? amp + 1 : NULL;
	}
	return found;
}
