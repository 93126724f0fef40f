/* SPDX-License-Identifier: MIT */
/*
 * util-error.c - the last error: a code, a one-line message and a hint,
 * and the one place that shows it to the user the way git does.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

static int last_code;
static char last_message[512];
static char last_hint[512];

/*
 * Format a message or hint into `dst`: one line (a message never carries a
 * newline of its own), and whatever it quotes from elsewhere (a name from
 * git, a URL, a server's text) with its control bytes in caret notation,
 * since the terminal is where it goes.
 */
static void line_format(char dst[512], const char *fmt, va_list ap)
    BBS_ATTR_PRINTF(2, 0);

static void
line_format(char dst[512], const char *fmt, va_list ap)
{
	char raw[512], *shown;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	raw[strcspn(raw, "\r\n")] = '\0';
	shown = text_cleaned(raw, 511);
	snprintf(dst, 512, "%s", shown);
	free(shown);
}

int
err_set(int code, const char *fmt, ...)
{
	va_list ap;

	if (last_code != 0)
		return code;
	last_code = code ? code : BBS_E_ERROR;
	va_start(ap, fmt);
	line_format(last_message, fmt, ap);
	va_end(ap);
	return code;
}

void
err_hint(const char *fmt, ...)
{
	va_list ap;

	if (last_hint[0] != '\0')
		return;
	va_start(ap, fmt);
	line_format(last_hint, fmt, ap);
	va_end(ap);
}

int
err_reword(int code, const char *fmt, ...)
{
	char prefix[256], msg[sizeof(last_message)];
	va_list ap;

	snprintf(msg, sizeof(msg), "%s", last_code ? last_message : "malformed");
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	err_clear();
	return err_set(code, "%s: %s", prefix, msg);
}

const char *
err_message(void)
{
	return last_code ? last_message : NULL;
}

const char *
err_hint_message(void)
{
	return last_hint[0] ? last_hint : NULL;
}

int
err_code(void)
{
	return last_code;
}

void
err_clear(void)
{
	last_code = 0;
	last_message[0] = '\0';
	last_hint[0] = '\0';
}

int
err_report(int r, enum err_level level, const char *tag)
{
	const char *msg = err_message(), *hint = err_hint_message();

	if (r == 0)
		return BBS_EXIT_OK;
	if (r == BBS_E_USAGE) {
		fprintf(stderr, "usage: %s\n", msg ? msg : "see the manual");
		return BBS_EXIT_USAGE;
	}
	if (r != BBS_E_REPORTED && last_code != BBS_E_REPORTED) {
		fprintf(stderr, "%s: %s%s%s\n", level == ERR_LEVEL_FATAL ?
		    "fatal" : "error", tag ? tag : "", tag ? ": " : "",
		    msg ? msg : "unknown error");
		if (hint != NULL)
			fprintf(stderr, "hint: %s\n", hint);
	}
	fflush(stderr);
	return level == ERR_LEVEL_FATAL ? BBS_EXIT_FATAL : BBS_EXIT_ERROR;
}
