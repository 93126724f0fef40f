/* SPDX-License-Identifier: MIT */
/*
 * fuzz-git-answer.h - the oracles the remote-helper fuzz targets share:
 * what the helper prints to git, or as an error, must be well-formed.
 * Each check calls abort() on a violation.
 */
#ifndef BBS_FUZZ_GIT_ANSWER_H
#define BBS_FUZZ_GIT_ANSWER_H

#include <stdlib.h>
#include <string.h>

#include "helper.h"

/*
 * No byte below 0x20 or 0x7f in `s`/`len`, except those in `allowed`,
 * and no C1 control (text_char).
 */
static inline void
fuzz_no_control(const char *s, size_t len, const char *allowed)
{
	size_t i, n;
	unsigned char c;
	int c1;

	for (i = 0; i < len; i += n) {
		c = (unsigned char)s[i];
		if ((c < 0x20 || c == 0x7f) &&
		    (c == 0 || strchr(allowed, c) == NULL))
			abort();
		n = text_char(s + i, len - i, &c1);
		if (c1)
			abort();
	}
}

/* A printed ref name: no byte git's refname rules forbid. */
static inline void
fuzz_check_name(const char *s, size_t len, int peeled_ok)
{
	size_t i;

	if (len == 0 || s[0] == '-')
		abort();
	if (peeled_ok && len > 3 && memcmp(s + len - 3, "^{}", 3) == 0)
		len -= 3;
	fuzz_no_control(s, len, "");
	for (i = 0; i < len; i++)
		if (strchr(" ~^:?*[\\", s[i]) != NULL)
			abort();
	if (memmem(s, len, "..", 2) != NULL || memmem(s, len, "@{", 2))
		abort();
	if (!refname_ok(s, len))
		abort();
}

/*
 * The answer to `list` / `list for-push`: lines "<40 hex> <name>" or
 * "@<target> <name>", ended by one blank line and nothing after it.
 */
static inline void
fuzz_check_list(const char *s, size_t len, int for_push)
{
	const char *line = s, *end = s + len, *nl, *sp;

	if (len == 0 || s[len - 1] != '\n')
		abort();
	for (;;) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			abort();
		if (nl == line) {	/* the blank line: the end */
			if (nl + 1 != end)
				abort();
			return;
		}
		sp = memchr(line, ' ', (size_t)(nl - line));
		if (sp == NULL)
			abort();
		if (line[0] == '@') {
			fuzz_check_name(line + 1, (size_t)(sp - line - 1), 0);
		} else if (!oid_hex_ok(line, (size_t)(sp - line)))
			abort();
		fuzz_check_name(sp + 1, (size_t)(nl - sp - 1), !for_push);
		line = nl + 1;
	}
}

/* An error message: one line, no control bytes. */
static inline void
fuzz_check_error(void)
{
	const char *m = err_message();

	if (m == NULL)
		abort();
	fuzz_no_control(m, strlen(m), "\t");
}

#endif
