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

void
sideband_write(struct sideband *sb, const char *data, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n' && data[i] != '\r')
			continue;
		if (text_sanitize(&sb->line, data + start, i + 1 - start,
		    TEXT_CRLF) != 0)
			err_clear();	/* an overlong line is cut, not fatal */
		sideband_emit(sb);
		start = i + 1;
	}
	if (start < len &&
	    text_sanitize(&sb->line, data + start, len - start, TEXT_CRLF) != 0) {
		err_clear();
		sideband_emit(sb);
	}
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
