/* SPDX-License-Identifier: MIT */
/*
 * sideband.c - the server's progress messages, shown as git shows them.
 *
 * Messages arrive in arbitrary pieces; each complete line (ended by LF or
 * CR, which progress meters use) is written at once with its "remote: "
 * prefix, so it does not interleave with index-pack's own progress.
 * Control bytes other than those line ends and TAB are shown in caret
 * notation, as git does for side-band text: a server's escape sequences
 * never reach the terminal.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "helper.h"

void
sideband_init(struct sideband *sb, int show)
{
	buf_init(&sb->line, 64 * 1024);
	sb->show = show;
	sb->out = stderr;
}

static void
sideband_emit(struct sideband *sb)
{
	if (sb->line.len > 0 && sb->show) {
		fprintf(sb->out, "remote: %s", sb->line.ptr);
		fflush(sb->out);
	}
	buf_reset(&sb->line);
}

/*
 * Add `n` bytes of a line, sanitized.  A line that would outgrow the
 * buffer is shown in pieces, each on a "remote: " line of its own, so that
 * nothing is lost and the buffer never fails (a caret doubles a byte; one
 * byte stays free for the line end of a cut piece).
 */
static void
sideband_add(struct sideband *sb, const char *p, size_t n)
{
	size_t take;

	while (n > 0) {
		take = (sb->line.max - sb->line.len - 1) / 2;
		if (take == 0) {
			buf_addstr(&sb->line, "\n");
			sideband_emit(sb);
			continue;
		}
		if (take > n)
			take = n;
		text_sanitize(&sb->line, p, take, TEXT_CRLF);
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
		sideband_emit(sb);
		start = i + 1;
	}
	if (start < len)
		sideband_add(sb, data + start, len - start);
}

void
sideband_release(struct sideband *sb)
{
	if (sb->line.len > 0) {
		buf_addstr(&sb->line, "\n");
		sideband_emit(sb);
	}
	buf_release(&sb->line);
}
