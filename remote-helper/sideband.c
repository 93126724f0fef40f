/*
 * sideband.c - the server's progress messages, shown as git shows them.
 *
 * Messages arrive in arbitrary pieces; each complete line (ended by LF or
 * CR, which progress meters use) is written at once with its "remote: "
 * prefix, so it does not interleave with index-pack's own progress.
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
}

static void
sideband_emit(struct sideband *sb)
{
	if (sb->line.len > 0 && sb->show) {
		fprintf(stderr, "remote: %s", sb->line.ptr);
		fflush(stderr);
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
		if (buf_add(&sb->line, data + start, i + 1 - start) != 0)
			err_clear();	/* an overlong line is cut, not fatal */
		sideband_emit(sb);
		start = i + 1;
	}
	if (start < len && buf_add(&sb->line, data + start, len - start) != 0) {
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
