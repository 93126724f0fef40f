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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
