/* SPDX-License-Identifier: MIT */
/*
 * fuzz-report.c - the push report: side-band demultiplexing, the
 * report-status parser, and the status lines then printed to git.
 *
 * Input: byte 0: bit 0 side-band-64k, bits 1-3 which of the three refs
 * (refs/heads/a, refs/heads/b, refs/tags/c) were sent; byte 1: the size
 * of the pieces the response arrives in (1-256); the rest: the response.
 *
 * Oracle: band-2 text reaches the terminal with no control byte but CR,
 * LF and TAB; every status line for git is "ok <ref>" or "error <ref>
 * <reason>" with a reason free of control bytes and, when quoted, a
 * well-formed C-quoted string; no ref that was not sent gets "ok"; an
 * error is one line without control bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "fuzz-git-answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A C-quoted string as git's unquote_c_style reads it, ending at `end`. */
static void
check_quoted(const char *s, const char *end)
{
	if (end - s < 2 || *s != '"' || end[-1] != '"')
		abort();
	for (s++, end--; s < end; s++) {
		if (*s == '"')
			abort();
		if (*s != '\\')
			continue;
		if (++s >= end)
			abort();
		if (*s >= '0' && *s <= '3') {
			if (end - s < 3 || s[1] < '0' || s[1] > '7' ||
			    s[2] < '0' || s[2] > '7')
				abort();
			s += 2;
		} else if (strchr("abtnvfr\"\\", *s) == NULL)
			abort();
	}
}

static void
check_status(const char *line, size_t len, const struct push_ref *r,
    int sent)
{
	size_t dl = strlen(r->dst);

	if (len == 0 || line[len - 1] != '\n')
		abort();
	len--;
	fuzz_no_control(line, len, "");
	if (r->error == NULL) {
		if (!sent || len != 3 + dl || memcmp(line, "ok ", 3) ||
		    memcmp(line + 3, r->dst, dl))
			abort();
		return;
	}
	if (len < 7 + dl || memcmp(line, "error ", 6) ||
	    memcmp(line + 6, r->dst, dl) || line[6 + dl] != ' ')
		abort();
	if (line[7 + dl] == '"')
		check_quoted(line + 7 + dl, line + len);
	else if (memchr(line + 7 + dl, '"', len - 7 - dl) ||
	    memchr(line + 7 + dl, '\\', len - 7 - dl))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[] = "refs/heads/a", b[] = "refs/heads/b", c[] = "refs/tags/c";
	struct push_ref refs[3];
	struct push_report rp;
	struct buf out;
	char *progress = NULL;
	size_t plen = 0, off, piece, i;
	int sent[3], r;
	FILE *pf;

	if (size < 2)
		return 0;
	memset(refs, 0, sizeof(refs));
	refs[0].dst = a;
	refs[1].dst = b;
	refs[2].dst = c;
	for (i = 0; i < 3; i++) {
		/* as push_commands: a ref is sent unless it has an error */
		sent[i] = (data[0] >> (i + 1)) & 1;
		if (!sent[i])
			refs[i].error = strdup("not sent");
	}
	piece = (size_t)data[1] + 1;
	err_clear();
	push_report_init(&rp, data[0] & 1, 4);
	if ((pf = open_memstream(&progress, &plen)) == NULL)
		abort();
	rp.progress.out = pf;
	r = 0;
	for (off = 2; off < size && r == 0; off += piece)
		r = push_report_feed(&rp, (const char *)data + off,
		    size - off < piece ? size - off : piece);
	if (r == 0)
		r = push_report_apply(&rp, refs, 3, sent);
	if (r != 0)
		fuzz_check_error();
	push_report_release(&rp);	/* flushes the last progress line */
	fclose(pf);
	fuzz_no_control(progress, plen, "\r\n\t");
	free(progress);
	for (i = 0; i < 3 && r == 0; i++) {
		if (sent[i] && refs[i].error == NULL && sent[i] != 2)
			abort();
		buf_init(&out, 0);
		if (proto_push_status(&out, &refs[i]) != 0)
			abort();
		check_status(out.ptr, out.len, &refs[i], sent[i]);
		buf_release(&out);
	}
	for (i = 0; i < 3; i++)
		free(refs[i].error);
	err_clear();
	return 0;
}
