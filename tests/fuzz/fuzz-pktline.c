/* SPDX-License-Identifier: MIT */
/*
 * fuzz-pktline.c - pkt_parse over a stream of pkt-lines.
 *
 * Oracle: every answer agrees with the four hex digits in front: a line
 * consumed is exactly as long as its header says, never longer than the
 * input or PKT_MAX + 4, its payload starts right after the header, the
 * special lengths 0000/0001/0002 are the control packets, and a data
 * line written back with pkt_add is the same bytes (up to the case of the
 * hex digits).  "Need more input" only when the line really is longer
 * than what is left, and an error only for a header git would refuse.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The header's value, or -1 if the four bytes are not all hex digits. */
static long
header_value(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	return v;
}

/* A data line, re-encoded, must be the bytes it was parsed from. */
static void
check_roundtrip(const char *line, size_t n, const char *payload, size_t plen)
{
	struct buf b;

	buf_init(&b, 0);
	if (pkt_add(&b, payload, plen) != 0 || b.len != n ||
	    strncasecmp(b.ptr, line, 4) != 0 ||
	    memcmp(b.ptr + 4, line + 4, n - 4) != 0)
		abort();
	buf_release(&b);
}

/* Check one answer of pkt_parse at `p` (`len` bytes left). */
static void
check_one(const char *p, size_t len, ssize_t n, enum pkt_type type,
    const char *payload, size_t plen)
{
	long want = len >= 4 ? header_value(p) : -2;

	if (n < 0) {
		/* refused: only a non-hex, reserved or oversized header */
		if (want != -1 && want != 3 && want <= PKT_MAX + 4)
			abort();
		return;
	}
	if (n == 0) {
		/* more input needed: only when the line really is longer */
		if (len >= 4 && (want < 4 || (size_t)want <= len))
			abort();
		if (payload != NULL || plen != 0)
			abort();
		return;
	}
	if ((size_t)n > len || want < 0)
		abort();
	if (want < 3) {
		if (n != 4 || type != (want == 0 ? PKT_FLUSH :
		    want == 1 ? PKT_DELIM : PKT_END))
			abort();
		return;
	}
	if (type != PKT_DATA || n != want || payload != p + 4 ||
	    plen != (size_t)n - 4 || plen > PKT_MAX)
		abort();
	check_roundtrip(p, (size_t)n, payload, plen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *payload;
	size_t left = size, plen;
	enum pkt_type type;
	ssize_t n;

	for (;;) {
		type = (enum pkt_type)-1;
		n = pkt_parse(p, left, &type, &payload, &plen);
		check_one(p, left, n, type, payload, plen);
		err_clear();
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}
