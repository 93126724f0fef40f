/*
 * fuzz-pktline.c - the pkt-line reader.
 *
 * Oracle: every packet lies inside the input and within PKT_MAX, a
 * malformed one sets an error, and a data packet written back with
 * pkt_add parses to the same payload.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

static void
roundtrip(const char *payload, size_t plen)
{
	struct buf b;
	enum pkt_type type;
	const char *p2;
	size_t l2;

	buf_init(&b, PKT_MAX + 8);
	if (pkt_add(&b, payload, plen) != 0)
		abort();
	if (pkt_parse(b.ptr, b.len, &type, &p2, &l2) != (ssize_t)b.len ||
	    type != PKT_DATA || l2 != plen || memcmp(p2, payload, plen) != 0)
		abort();
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *payload;
	enum pkt_type type;
	size_t off = 0, plen;
	ssize_t n;

	err_clear();
	while (off < size) {
		n = pkt_parse(s + off, size - off, &type, &payload, &plen);
		if (n < 0) {
			if (err_message() == NULL)
				abort();
			break;
		}
		if (n == 0) {
			if (payload != NULL || plen != 0)
				abort();
			break;
		}
		if ((size_t)n > size - off)
			abort();
		if (type == PKT_DATA) {
			if (payload != s + off + 4 || plen != (size_t)n - 4 ||
			    plen > PKT_MAX)
				abort();
			roundtrip(payload, plen);
		} else if (n != 4)
			abort();
		off += (size_t)n;
	}
	err_clear();
	return 0;
}
