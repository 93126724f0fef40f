/* SPDX-License-Identifier: MIT */
/*
 * util-trace.c - GIT_TRACE_BBS, with secrets redacted at the output end.
 *
 * Redaction happens here, where lines are written, so no caller can forget
 * it: header values that carry credentials never reach the trace.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "oauth.h"

static FILE *trace_fp;
static int trace_owned;

void
trace_init(const char *spec)
{
	int fd;

	trace_close();
	if (spec == NULL || *spec == '\0' || strcmp(spec, "0") == 0 ||
	    strcasecmp(spec, "false") == 0)
		return;
	if (strcmp(spec, "1") == 0 || strcmp(spec, "2") == 0 ||
	    strcasecmp(spec, "true") == 0) {
		trace_fp = stderr;
		return;
	}
	if (spec[0] != '/') {
		fprintf(stderr, "warning: GIT_TRACE_BBS must be 1, 2 or an "
		    "absolute path; tracing is off\n");
		return;
	}
	fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (trace_fp = fdopen(fd, "a")) == NULL) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "warning: cannot open GIT_TRACE_BBS file; "
		    "tracing is off\n");
		return;
	}
	trace_owned = 1;
}

int
trace_enabled(void)
{
	return trace_fp != NULL;
}

void
trace_close(void)
{
	if (trace_fp != NULL && trace_owned)
		fclose(trace_fp);
	trace_fp = NULL;
	trace_owned = 0;
}

static void
trace_prefix(struct buf *b)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	buf_addf(b, "%02d:%02d:%02d.%06ld bbs[%ld]: ", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)tv.tv_usec, (long)getpid());
}

/* Append `s` with control and non-ASCII bytes escaped. */
static void
trace_add_escaped(struct buf *b, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\\')
			buf_addstr(b, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			buf_add(b, &s[i], 1);
		else
			buf_addf(b, "\\x%02x", c);
	}
}

static void
trace_emit(struct buf *b)
{
	buf_addstr(b, "\n");
	fwrite(b->ptr, 1, b->len, trace_fp);
	fflush(trace_fp);
}

void
trace_printf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int n;

	if (trace_fp == NULL)
		return;
	buf_init(&b, 16 * 1024);
	trace_prefix(&b);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0 && n < 4096) {
		char *tmp = xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		va_end(ap);
		trace_add_escaped(&b, tmp, (size_t)n);
		free(tmp);
	}
	trace_emit(&b);
	buf_release(&b);
}

static const char *const redacted_headers[] = {
	"authorization:", "proxy-authorization:", "cookie:", "set-cookie:",
};

void
trace_header(const char *prefix, const char *line, size_t len)
{
	struct buf b;
	size_t i, n;

	if (trace_fp == NULL)
		return;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	buf_init(&b, 16 * 1024);
	trace_prefix(&b);
	buf_addstr(&b, prefix);
	for (i = 0; i < BBS_ARRAY_SIZE(redacted_headers); i++) {
		n = strlen(redacted_headers[i]);
		if (len >= n && strncasecmp(line, redacted_headers[i], n) == 0)
			break;
	}
	if (i < BBS_ARRAY_SIZE(redacted_headers)) {
		size_t keep = n;
		/* keep the scheme word: "Authorization: Bearer <redacted>" */
		while (keep < len && line[keep] == ' ')
			keep++;
		if (i < 2)
			while (keep < len && line[keep] != ' ')
				keep++;
		trace_add_escaped(&b, line, keep);
		buf_addstr(&b, " <redacted>");
	} else
		trace_add_escaped(&b, line, len > 4096 ? 4096 : len);
	trace_emit(&b);
	buf_release(&b);
}
