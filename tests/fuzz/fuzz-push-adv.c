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
 * The same body cut to every other ref name (advert_cut, as for a fetch)
 * parses again to exactly those refs, in order, with the same
 * capabilities.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "fuzz-git-answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether `name` is one of `names`, by a scan: not the index under test. */
static int
in_names(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* Cut the body to every other name of `a` and check what is left. */
static void
check_cut(const uint8_t *data, size_t size, const struct push_adv *a)
{
	struct push_adv c;
	struct name_index wanted;
	struct buf out;
	char **names = calloc(a->refs.nr + 1, sizeof(*names));
	size_t i, j, n = 0, kept;
	int r;

	if (names == NULL)
		abort();
	for (i = 0; i < a->refs.nr; i += 2)
		names[n++] = a->refs.v[i].name;
	name_index_strings(&wanted, names, n);
	buf_init(&out, 2 * size + 64);
	r = advert_cut(&out, (const char *)data, size, &wanted, &kept);
	if (r != 0) {
		/* capabilities after the first ref: libgit2 gets it whole */
		if (r != BBS_E_PROTOCOL)
			abort();
		fuzz_check_error();
		goto out;
	}
	for (i = j = 0; i < a->refs.nr; i++)
		j += in_names(names, n, a->refs.v[i].name);
	if (kept != j)
		abort();
	if (kept == 0)
		goto out;
	memset(&c, 0, sizeof(c));
	if (push_adv_parse(&c, out.ptr, out.len) != 0 ||
	    strcmp(c.caps, a->caps) != 0)
		abort();
	for (i = j = 0; i < a->refs.nr; i++) {
		if (!in_names(names, n, a->refs.v[i].name))
			continue;
		if (j >= c.refs.nr ||
		    strcmp(c.refs.v[j].name, a->refs.v[i].name) != 0 ||
		    strcmp(c.refs.v[j].hex, a->refs.v[i].hex) != 0)
			abort();
		j++;
	}
	if (j != c.refs.nr)
		abort();
	push_adv_release(&c);
out:
	err_clear();
	buf_release(&out);
	name_index_release(&wanted);
	free(names);
}

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
	err_clear();
	check_cut(data, size, &a);
out:
	err_clear();
	push_adv_release(&a);
	return 0;
}
