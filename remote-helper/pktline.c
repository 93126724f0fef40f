/* SPDX-License-Identifier: MIT */
/*
 * pktline.c - git's pkt-line framing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

long
pkt_length(const char hdr[4])
{
	long n = 0;
	int i, v;

	for (i = 0; i < 4; i++) {
		char c = hdr[i];

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -1;
		n = n * 16 + v;
	}
	return n;
}

int
pkt_remote_error(const char *text, size_t len)
{
	char *msg;
	int r;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	msg = text_sanitized(text, len > PKT_ERROR_TEXT ? PKT_ERROR_TEXT :
	    len);
	r = err_set(BBS_E_PROTOCOL, "remote error: %s", msg);
	free(msg);
	return r;
}

ssize_t
pkt_parse(const char *data, size_t len, enum pkt_type *type,
    const char **payload, size_t *plen)
{
	long n;

	*payload = NULL;
	*plen = 0;
	if (len < 4)
		return 0;
	if ((n = pkt_length(data)) < 0)
		return err_set(BBS_E_PROTOCOL,
		    "malformed pkt-line length from the server");
	switch (n) {
	case 0:
		*type = PKT_FLUSH;
		return 4;
	case 1:
		*type = PKT_DELIM;
		return 4;
	case 2:
		*type = PKT_END;
		return 4;
	case 3:
		return err_set(BBS_E_PROTOCOL,
		    "malformed pkt-line length from the server");
	default:
		break;
	}
	if (n > PKT_MAX + 4)
		return err_set(BBS_E_PROTOCOL,
		    "oversized pkt-line from the server");
	if (len < (size_t)n)
		return 0;
	*type = PKT_DATA;
	*payload = data + 4;
	*plen = (size_t)n - 4;
	return (ssize_t)n;
}

int
pkt_add(struct buf *b, const char *payload, size_t len)
{
	char hdr[5];
	int r;

	if (len > PKT_MAX)
		return err_set(BBS_E_INVALID, "pkt-line too long");
	snprintf(hdr, sizeof(hdr), "%04zx", len + 4);
	if ((r = buf_add(b, hdr, 4)) != 0)
		return r;
	return buf_add(b, payload, len);
}

/*
 * Most lines are short: they are formatted on the stack, and only a long
 * one in a block of its own (a 64 KiB stack buffer would be cleared on
 * every call by -ftrivial-auto-var-init).
 */
int
pkt_addf(struct buf *b, const char *fmt, ...)
{
	char small[256], *line = small;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > PKT_MAX)
		return err_set(BBS_E_INVALID, "pkt-line too long");
	if ((size_t)n >= sizeof(small)) {
		line = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	r = pkt_add(b, line, (size_t)n);
	if (line != small)
		free(line);
	return r;
}

int
pkt_flush(struct buf *b)
{
	return buf_add(b, "0000", 4);
}
