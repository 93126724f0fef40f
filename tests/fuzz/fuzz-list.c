/* SPDX-License-Identifier: MIT */
/*
 * fuzz-list.c - the answer to git's `list` and `list for-push`, from refs
 * as a server (through libgit2) may advertise them.
 *
 * Input: the first byte chooses `list` (even) or `list for-push` (odd);
 * the rest is records "<hex>\0<name>\0<symref target or empty>\0".
 *
 * Oracle (fuzz-git-answer.h): on success the answer is well-formed
 * lines with no control byte in any name or target; on failure nothing
 * was appended and the error is one line without control bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "fuzz-git-answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-terminated field, or NULL at the end of the input. */
static const char *
field(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nul;

	if (s >= end)
		return NULL;
	nul = memchr(s, '\0', (size_t)(end - s));
	*len = nul ? (size_t)(nul - s) : (size_t)(end - s);
	*p = s + *len + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *hex, *name, *sym;
	size_t hl, nl, sl;
	struct ref_list l = { 0 };
	struct buf out;
	char hexbuf[OID_HEX_LEN + 1];
	char *target;
	int for_push, r;

	if (size < 1)
		return 0;
	for_push = data[0] & 1;
	err_clear();
	while ((hex = field(&p, end, &hl)) != NULL &&
	    (name = field(&p, end, &nl)) != NULL) {
		if ((sym = field(&p, end, &sl)) == NULL)
			sl = 0;
		memset(hexbuf, 0, sizeof(hexbuf));
		memcpy(hexbuf, hex, hl < OID_HEX_LEN ? hl : OID_HEX_LEN);
		target = sl ? strndup(sym, sl) : NULL;
		ref_list_add(&l, hexbuf, name, nl, target);
		free(target);
	}
	buf_init(&out, 0);
	buf_addstr(&out, "x");
	r = proto_list_answer(&out, &l, for_push, "http://server/repo");
	if (r == 0)
		fuzz_check_list(out.ptr + 1, out.len - 1, for_push);
	else if (r != BBS_E_PROTOCOL || out.len != 1 ||
	    strcmp(out.ptr, "x") != 0)
		abort();
	else
		fuzz_check_error();
	err_clear();
	buf_release(&out);
	ref_list_release(&l);
	return 0;
}
