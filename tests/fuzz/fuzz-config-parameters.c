/* SPDX-License-Identifier: MIT */
/*
 * fuzz-config-parameters.c - config_parse_parameters, the reader of what
 * `git -c` passes down in GIT_CONFIG_PARAMETERS.
 *
 * The input is used twice.  As the variable's text (up to the first NUL,
 * as the environment would hold it): when it parses, the settings it
 * gave, written back the way git writes them, must parse to the same
 * settings.  And as a list of settings, one per line, "name=value" or a
 * bare "name" (a setting without a value): written the way git writes
 * them, they must parse, every one, to exactly those names and values.
 * Oracle: a parse that succeeds with other settings, more or fewer, or a
 * git-written list that does not parse.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SETTINGS 64

struct settings {
	size_t nr;
	int overflow;
	char *name[MAX_SETTINGS];
	char *value[MAX_SETTINGS];	/* NULL: no value */
};

static void
settings_add(struct settings *s, const char *name, const char *value)
{
	if (s->nr == MAX_SETTINGS) {
		s->overflow = 1;
		return;
	}
	s->name[s->nr] = xstrdup(name);
	s->value[s->nr] = value ? xstrdup(value) : NULL;
	s->nr++;
}

static void
settings_cb(const char *name, const char *value, void *payload)
{
	if (name == NULL)
		abort();
	settings_add(payload, name, value);
}

static void
settings_release(struct settings *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		free(s->name[i]);
		free(s->value[i]);
	}
	memset(s, 0, sizeof(*s));
}

/*
 * Append `s` single-quoted as git's sq_quote_buf does: ' is '\'' and !
 * is '\!' (for shells with history expansion).
 */
static void
sq_quote(struct buf *b, const char *s)
{
	char esc[] = "'\\x'";

	if (buf_add(b, "'", 1) != 0)
		abort();
	for (; *s != '\0'; s++) {
		esc[2] = *s;
		if (*s == '\'' || *s == '!' ? buf_add(b, esc, 4) :
		    buf_add(b, s, 1))
			abort();
	}
	if (buf_add(b, "'", 1) != 0)
		abort();
}

/* GIT_CONFIG_PARAMETERS as git writes it for settings `s`. */
static void
encode(struct buf *b, const struct settings *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		if (i > 0 && buf_add(b, " ", 1) != 0)
			abort();
		sq_quote(b, s->name[i]);
		if (buf_add(b, "=", 1) != 0)
			abort();
		if (s->value[i] != NULL)
			sq_quote(b, s->value[i]);
	}
}

static int
settings_equal(const struct settings *a, const struct settings *b)
{
	size_t i;

	if (a->nr != b->nr)
		return 0;
	for (i = 0; i < a->nr; i++) {
		if (strcmp(a->name[i], b->name[i]) != 0 ||
		    (a->value[i] == NULL) != (b->value[i] == NULL) ||
		    (a->value[i] != NULL &&
		    strcmp(a->value[i], b->value[i]) != 0))
			return 0;
	}
	return 1;
}

/* Encode `want`, parse it back, and insist on the same settings. */
static void
check_roundtrip(const struct settings *want)
{
	struct settings got;
	struct buf b;

	memset(&got, 0, sizeof(got));
	buf_init(&b, 0);
	encode(&b, want);
	if (config_parse_parameters(b.ptr ? b.ptr : "", settings_cb, &got)
	    != 0) {
		/* only the parser's own size bound may refuse it */
		if (err_code() != BBS_E_TOO_BIG)
			abort();
	} else if (!got.overflow && !settings_equal(want, &got))
		abort();
	err_clear();
	buf_release(&b);
	settings_release(&got);
}

/* The input as the environment variable's text. */
static void
fuzz_text(const char *text)
{
	struct settings got;

	memset(&got, 0, sizeof(got));
	if (config_parse_parameters(text, settings_cb, &got) == 0 &&
	    !got.overflow)
		check_roundtrip(&got);
	err_clear();
	settings_release(&got);
}

/* The input as lines of name=value or name; NUL bytes end a line too. */
static void
fuzz_list(const char *data, size_t size)
{
	struct settings want;
	const char *p = data, *end = data + size;

	memset(&want, 0, sizeof(want));
	while (p < end && want.nr < MAX_SETTINGS) {
		size_t n = 0;
		char *line, *eq;

		while (p + n < end && p[n] != '\n' && p[n] != '\0')
			n++;
		line = xstrndup(p, n);
		if ((eq = strchr(line, '=')) != NULL)
			*eq++ = '\0';
		settings_add(&want, line, eq);
		free(line);
		p += n + 1;
	}
	check_roundtrip(&want);
	settings_release(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);

	fuzz_text(text);
	free(text);
	fuzz_list((const char *)data, size);
	return 0;
}
