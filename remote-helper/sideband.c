/* SPDX-License-Identifier: MIT */
/*
 * sideband.c - the server's progress messages, shown as git shows them.
 *
 * Messages arrive in arbitrary pieces; each complete line (ended by LF or
 * CR, which progress meters use) is written at once with its "remote: "
 * prefix, so it does not interleave with index-pack's own progress.
 * Control bytes other than those line ends and TAB are shown in caret
 * notation, as git does for side-band text, and C1 controls too (see
 * util-text.c): a server's escape sequences never reach the terminal.
 * Lines are kept as they came and masked when shown, so a UTF-8 character
 * cut by the end of a packet is whole again by then.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "helper.h"

/* The longest piece of a line shown at once, as received. */
#define SIDEBAND_PIECE (16 * 1024)

void
sideband_init(struct sideband *sb, int show)
{
	buf_init(&sb->line, SIDEBAND_PIECE);
	buf_init(&sb->shown, TEXT_GROWTH * SIDEBAND_PIECE + 2);
	sb->show = show;
	sb->out = stderr;
}

/* Show the first `n` bytes of the line, then `end` when not NULL. */
static void
sideband_show(struct sideband *sb, size_t n, const char *end)
{
	if (n > 0 && sb->show) {
		buf_reset(&sb->shown);
		text_sanitize(&sb->shown, sb->line.ptr, n, TEXT_CRLF);
		if (end != NULL)
			buf_addstr(&sb->shown, end);
		fprintf(sb->out, "remote: %s", sb->shown.ptr);
		fflush(sb->out);
	}
	buf_consume(&sb->line, n);
}

/*
 * A line that outgrows the buffer is shown in pieces, each on a "remote: "
 * line of its own, so nothing is lost; a piece ends before a UTF-8
 * character it would cut.
 */
static void
sideband_add(struct sideband *sb, const char *p, size_t n)
{
	size_t take;

	while (n > 0) {
		if (sb->line.len == sb->line.max)
			sideband_show(sb, sb->line.len -
			    text_partial(sb->line.ptr, sb->line.len), "\n");
		take = sb->line.max - sb->line.len;
		if (take > n)
			take = n;
		buf_add(&sb->line, p, take);
		p += take;
		n -= take;
	}
}

void
sideband_write(struct sideband *sb, const char *data, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n' && data[i] != '\r')
			continue;
		sideband_add(sb, data + start, i + 1 - start);
		sideband_show(sb, sb->line.len, NULL);
		start = i + 1;
	}
	if (start < len)
		sideband_add(sb, data + start, len - start);
}

void
sideband_release(struct sideband *sb)
{
	sideband_show(sb, sb->line.len, "\n");
	buf_release(&sb->line);
	buf_release(&sb->shown);
}

void
errwatch_init(struct errwatch *w)
{
	memset(w, 0, sizeof(*w));
}

/* Take the bytes of a packet's header: how many were used. */
static size_t
errwatch_header(struct errwatch *w, const char *data, size_t len)
{
	size_t take = 4 - w->hlen;
	long n;

	if (take > len)
		take = len;
	memcpy(w->hdr + w->hlen, data, take);
	w->hlen += take;
	if (w->hlen < 4)
		return take;
	w->hlen = 0;
	if ((n = pkt_length(w->hdr)) < 0 || n == 3) {
		w->raw = 1;	/* a pack after NAK, or garbage: libgit2's */
	} else if (n > 4) {
		w->left = (size_t)n - 4;	/* 0 to 2: flush, delim, end */
		w->tlen = 0;
		w->maybe = 1;
	}
	return take;
}

/* Whether the first bytes of a packet can still start an error. */
static int
errwatch_may_be_error(const struct errwatch *w)
{
	size_t n = w->tlen < 4 ? w->tlen : 4;

	if (n == 0)
		return 1;
	if (w->text[0] == 3)
		return 1;
	return memcmp(w->text, "ERR ", n) == 0;
}

int
errwatch_feed(struct errwatch *w, const char *data, size_t len)
{
	size_t take, keep;

	while (len > 0 && !w->raw) {
		if (w->left == 0) {
			take = errwatch_header(w, data, len);
			data += take;
			len -= take;
			continue;
		}
		take = w->left < len ? w->left : len;
		if (w->maybe) {
			keep = sizeof(w->text) - w->tlen;
			if (keep > take)
				keep = take;
			memcpy(w->text + w->tlen, data, keep);
			w->tlen += keep;
			w->maybe = errwatch_may_be_error(w);
		}
		w->left -= take;
		data += take;
		len -= take;
		if (!w->maybe || (w->left > 0 && w->tlen < sizeof(w->text)))
			continue;
		w->maybe = 0;
		if (w->text[0] == 3)
			return pkt_remote_error(w->text + 1, w->tlen - 1);
		if (w->tlen >= 4)
			return pkt_remote_error(w->text + 4, w->tlen - 4);
	}
	return 0;
}
