/* SPDX-License-Identifier: MIT */
/*
 * fuzz-push-adv.c - the receive-pack ref advertisement, parsed and then
 * answered to git as `list for-push`.
 *
 * Input: the body of GET info/refs?service=git-receive-pack.
 *
 * Oracle (fuzz-git-answer.h): a parse that succeeds gives ids of 40 hex
 * digits and capabilities; its for-push answer is well-formed lines with
 * no control byte in any name, or a one-line error with nothing printed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "fuzz-git-answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct push_adv a;
	struct buf out;
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	err_clear();
	r = push_adv_parse(&a, (const char *)data, size);
	if (r != 0) {
		fuzz_check_error();
		goto out;
	}
	if (a.caps == NULL)
		abort();
	for (i = 0; i < a.refs.nr; i++)
		if (!oid_hex_ok(a.refs.v[i].hex, strlen(a.refs.v[i].hex)) ||
		    a.refs.v[i].symref != NULL)
			abort();
	buf_init(&out, 0);
	r = proto_list_answer(&out, &a.refs, 1, "http://server/repo");
	if (r == 0)
		fuzz_check_list(out.ptr, out.len, 1);
	else if (r != BBS_E_PROTOCOL || out.len != 0)
		abort();
	else
		fuzz_check_error();
	buf_release(&out);
out:
	err_clear();
	push_adv_release(&a);
	return 0;
}
