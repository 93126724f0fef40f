/* SPDX-License-Identifier: MIT */
/* Unit tests for pktline.c. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "helper.h"

static void
test_parse(void **state)
{
	enum pkt_type t;
	const char *p;
	size_t n;
	const char *in = "000ahello\n00000001000200";

	assert_int_equal(pkt_parse(in, strlen(in), &t, &p, &n), 10);
	assert_int_equal(t, PKT_DATA);
	assert_int_equal(n, 6);
	assert_memory_equal(p, "hello\n", 6);
	assert_int_equal(pkt_parse(in + 10, 4, &t, &p, &n), 4);
	assert_int_equal(t, PKT_FLUSH);
	assert_int_equal(pkt_parse(in + 14, 4, &t, &p, &n), 4);
	assert_int_equal(t, PKT_DELIM);
	assert_int_equal(pkt_parse(in + 18, 4, &t, &p, &n), 4);
	assert_int_equal(t, PKT_END);
	/* incomplete: need more input */
	assert_int_equal(pkt_parse(in + 22, 2, &t, &p, &n), 0);
	assert_int_equal(pkt_parse("000ahel", 7, &t, &p, &n), 0);
}

static void
test_malformed(void **state)
{
	enum pkt_type t;
	const char *p;
	size_t n;

	err_clear();
	assert_true(pkt_parse("zzzz", 4, &t, &p, &n) < 0);
	err_clear();
	assert_true(pkt_parse("0003", 4, &t, &p, &n) < 0);
	err_clear();
	assert_true(pkt_parse("fff5xxxx", 8, &t, &p, &n) < 0);
	err_clear();
}

static void
test_write(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(pkt_addf(&b, "%s %d\n", "want", 7), 0);
	assert_int_equal(pkt_flush(&b), 0);
	assert_string_equal(b.ptr, "000bwant 7\n0000");
	buf_reset(&b);
	assert_int_equal(pkt_add(&b, "", 0), 0);
	assert_string_equal(b.ptr, "0004");
	buf_release(&b);
}

/* Lines longer than pkt_addf's stack buffer, up to the largest payload. */
static void
test_write_long(void **state)
{
	static char big[PKT_MAX + 2];
	enum pkt_type t;
	const char *p;
	size_t n, len;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (len = 255; len <= 257; len++) {
		memset(big, 'x', len);
		big[len] = '\0';
		buf_reset(&b);
		assert_int_equal(pkt_addf(&b, "%s", big), 0);
		assert_int_equal(pkt_parse(b.ptr, b.len, &t, &p, &n),
		    (ssize_t)len + 4);
		assert_int_equal(n, len);
		assert_memory_equal(p, big, len);
	}
	memset(big, 'y', PKT_MAX);
	big[PKT_MAX] = '\0';
	buf_reset(&b);
	assert_int_equal(pkt_addf(&b, "%s", big), 0);
	assert_int_equal(b.len, (size_t)PKT_MAX + 4);
	big[PKT_MAX] = 'y';
	big[PKT_MAX + 1] = '\0';
	assert_int_equal(pkt_addf(&b, "%s", big), BBS_E_INVALID);
	err_clear();
	buf_release(&b);
}

#define OID_A "1111111111111111111111111111111111111111"
#define OID_B "2222222222222222222222222222222222222222"
#define OID_T "3333333333333333333333333333333333333333"

/* An advertisement as pkt-lines, from its lines ("" for a flush). */
static void
advert(struct buf *b, const char *const *lines, size_t n, const size_t *len)
{
	size_t i;

	buf_init(b, 1 << 16);
	for (i = 0; i < n; i++)
		if (len[i] == 0)
			assert_int_equal(pkt_flush(b), 0);
		else
			assert_int_equal(pkt_add(b, lines[i], len[i]), 0);
}

/*
 * advert_cut keeps the refs asked for and the lines that are not refs,
 * moves the capabilities to the first ref it keeps, drops peeled entries,
 * and reads no further than the flush that ends the refs.
 */
static void
test_advert_cut(void **state)
{
	static const char head[] = OID_A " HEAD\0multi_ack symref=HEAD:"
	    "refs/heads/a\n";
	static const char *const in[] = {
		"# service=git-upload-pack\n", "", head,
		OID_A " refs/heads/a\n", OID_B " refs/heads/b\n",
		OID_T " refs/tags/v1\n", OID_B " refs/tags/v1^{}\n", "",
		"0000 trailing",
	};
	static const char bhead[] = OID_B " refs/heads/b\0multi_ack "
	    "symref=HEAD:refs/heads/a\n";
	static const char *const want[] = {
		"# service=git-upload-pack\n", "", bhead,
		OID_T " refs/tags/v1\n", "",
	};
	size_t inlen[] = { 26, 0, sizeof(head) - 1, 54, 54, 54, 57, 0, 13 };
	size_t wantlen[] = { 26, 0, sizeof(bhead) - 1, 54, 0 };
	static char b[] = "refs/heads/b", v1[] = "refs/tags/v1",
	    v9[] = "refs/tags/v9", hd[] = "HEAD";
	char *names[] = { v9, b, v1 };
	char *head_only[] = { hd };
	struct name_index wanted, head_ix;
	struct buf body, expect, out;
	size_t kept, pos;

	(void)state;
	advert(&body, in, BBS_ARRAY_SIZE(in), inlen);
	advert(&expect, want, BBS_ARRAY_SIZE(want), wantlen);
	buf_init(&out, 1 << 16);
	name_index_strings(&wanted, names, 3);
	name_index_strings(&head_ix, head_only, 1);
	assert_int_equal(advert_cut(&out, body.ptr, body.len, &wanted,
	    &kept), 0);
	assert_int_equal(kept, 2);
	assert_int_equal(out.len, expect.len);
	assert_memory_equal(out.ptr, expect.ptr, out.len);
	/* the capabilities stay where they were when their ref stays */
	buf_reset(&out);
	assert_int_equal(advert_cut(&out, body.ptr, body.len, &head_ix,
	    &kept), 0);
	assert_int_equal(kept, 1);
	assert_non_null(memmem(out.ptr, out.len, head, sizeof(head) - 1));
	/* a body cut short is an error */
	buf_reset(&out);
	assert_int_equal(advert_cut(&out, body.ptr, 60, &wanted, &kept),
	    BBS_E_PROTOCOL);
	err_clear();
	/* names are found whole, at the index they were given */
	assert_true(name_index_find(&wanted, "refs/tags/v1", 12, &pos));
	assert_int_equal(pos, 2);
	assert_true(name_index_find(&wanted, "refs/tags/v9", 12, NULL));
	assert_false(name_index_find(&wanted, "refs/tags/v", 11, NULL));
	assert_false(name_index_find(&wanted, "refs/tags/v1x", 13, NULL));
	assert_false(name_index_find(&wanted, "refs/heads/b\0", 13, NULL));
	name_index_release(&wanted);
	name_index_release(&head_ix);
	buf_release(&body);
	buf_release(&expect);
	buf_release(&out);
}

/* Of equal names the first given is found; an empty index finds none. */
static void
test_name_index(void **state)
{
	static char a[] = "refs/heads/a", b[] = "refs/heads/b",
	    a2[] = "refs/heads/a";
	char *names[] = { b, a, a2 };
	struct name_index ix;
	size_t pos = 99;

	(void)state;
	name_index_strings(&ix, names, 3);
	assert_true(name_index_find(&ix, "refs/heads/a", 12, &pos));
	assert_int_equal(pos, 1);
	assert_true(name_index_find(&ix, "refs/heads/b", 12, &pos));
	assert_int_equal(pos, 0);
	assert_false(name_index_find(&ix, "refs/heads/", 11, &pos));
	assert_false(name_index_find(&ix, "refs/heads/c", 12, &pos));
	name_index_release(&ix);
	name_index_init(&ix, 0);
	name_index_sort(&ix);
	assert_false(name_index_find(&ix, "", 0, &pos));
	assert_int_equal(pos, 0);
	name_index_release(&ix);
}

/* Feed `data` to a fresh watcher `step` bytes at a time. */
static int
errwatch_steps(const char *data, size_t len, size_t step)
{
	struct errwatch w;
	size_t off, n;
	int r = 0;

	errwatch_init(&w);
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < step ? len - off : step;
		r = errwatch_feed(&w, data + off, n);
	}
	return r;
}

static void
test_errwatch(void **state)
{
	static const char band3[] = "0008NAK\n" "0008\2hi\n"
	    "0014\3no \033[2J access\n" "0000";
	static const char err[] = "0011ERR not ours\n";
	static const char fine[] = "0008NAK\n" "000a\1ERR \3" "0008\2\3x\n"
	    "0007ERR" "0000";
	static const char raw[] = "0008NAK\n" "PACK\0\0\0\2" "0011ERR not ours\n";
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(band3); step++) {
		assert_int_equal(errwatch_steps(band3, sizeof(band3) - 1,
		    step), BBS_E_PROTOCOL);
		assert_string_equal(err_message(),
		    "remote error: no ^[[2J access");
		err_clear();
		assert_int_equal(errwatch_steps(err, sizeof(err) - 1, step),
		    BBS_E_PROTOCOL);
		assert_string_equal(err_message(), "remote error: not ours");
		err_clear();
		/* band 1 and 2, and an ERR too short to be one, are no error */
		assert_int_equal(errwatch_steps(fine, sizeof(fine) - 1, step),
		    0);
		/* a pack without side-band is not read as pkt-lines */
		assert_int_equal(errwatch_steps(raw, sizeof(raw) - 1, step),
		    0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_long),
		cmocka_unit_test(test_advert_cut),
		cmocka_unit_test(test_name_index),
		cmocka_unit_test(test_errwatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
