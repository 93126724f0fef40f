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
 * The same bytes go to errwatch_feed whole and one at a time: both find
 * the same error of the server, or none, and its text holds no control
 * byte.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
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

/* errwatch_feed's answer for `data`, fed `step` bytes at a time. */
static int
watch(const char *data, size_t size, size_t step, char *msg, size_t msgsize)
{
	struct errwatch w;
	size_t off, n;
	int r = 0;

	errwatch_init(&w);
	for (off = 0; off < size && r == 0; off += n) {
		n = size - off < step ? size - off : step;
		r = errwatch_feed(&w, data + off, n);
	}
	snprintf(msg, msgsize, "%s", r != 0 ? err_message() : "");
	err_clear();
	return r;
}

/* The server's error is found however the bytes arrive, and masked. */
static void
check_errwatch(const char *data, size_t size)
{
	static char whole[2048], bytes[2048];
	size_t i;

	if (watch(data, size, size ? size : 1, whole, sizeof(whole)) !=
	    watch(data, size, 1, bytes, sizeof(bytes)) ||
	    strcmp(whole, bytes) != 0)
		abort();
	for (i = 0; whole[i] != '\0'; i++)
		if ((unsigned char)whole[i] < 0x20 || whole[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *payload;
	size_t left = size, plen;
	enum pkt_type type;
	ssize_t n;

	check_errwatch(p, size);
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
