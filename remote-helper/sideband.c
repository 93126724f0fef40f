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
