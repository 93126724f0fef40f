/* SPDX-License-Identifier: MIT */
/* Unit tests for the bounded buffer and the secret helpers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

static void
test_bounds(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "1234"), 0);
	assert_int_equal(buf_addstr(&b, "5678"), 0);
	err_clear();
	assert_int_equal(buf_addstr(&b, "9"), BBS_E_TOO_BIG);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.ptr, "12345678");
	err_clear();
	assert_int_equal(buf_addf(&b, "%d", 1), BBS_E_TOO_BIG);
	err_clear();
	buf_consume(&b, 3);
	assert_string_equal(b.ptr, "45678");
	buf_release(&b);
	assert_null(b.ptr);
	assert_int_equal(b.max, 8);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_addf(&b, "%s", "abc"), 0);
	assert_string_equal(b.ptr, "abc");
	buf_release(&b);
}

/* Once an append fails, every later one is a no-op returning that code. */
static void
test_sticky(void **state)
{
	struct buf b;
	char *p;

	err_clear();
	buf_init(&b, 8);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_addstr(&b, "123456789"), BBS_E_TOO_BIG);
	assert_int_equal(buf_error(&b), BBS_E_TOO_BIG);
	err_clear();
	/* a short append that would fit is still refused */
	assert_int_equal(buf_addstr(&b, "ab"), BBS_E_TOO_BIG);
	assert_int_equal(buf_add(&b, "c", 1), BBS_E_TOO_BIG);
	assert_int_equal(buf_addf(&b, "%d", 7), BBS_E_TOO_BIG);
	assert_true(b.ptr == NULL || b.len == 0);
	/* emptying the buffer does not forget that it failed */
	buf_reset(&b);
	assert_int_equal(buf_error(&b), BBS_E_TOO_BIG);
	assert_int_equal(buf_addstr(&b, "x"), BBS_E_TOO_BIG);
	/* the error is kept even when err_clear() forgot the message */
	assert_null(err_message());
	p = buf_detach(&b);
	assert_string_equal(p, "");
	free(p);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_addstr(&b, "x"), 0);
	buf_release(&b);
	err_clear();
}

/* A form whose middle field overflowed cannot be completed and sent. */
static void
test_form_half_built(void **state)
{
	struct buf f;
	char big[64];

	err_clear();
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init_secret(&f, 48);
	assert_int_equal(form_add(&f, "grant_type", "refresh_token"), 0);
	assert_int_equal(form_add(&f, "refresh_token", big), BBS_E_TOO_BIG);
	/* the last field fits on its own, but the form stays failed */
	assert_int_equal(form_add(&f, "x", "y"), BBS_E_TOO_BIG);
	assert_int_equal(buf_error(&f), BBS_E_TOO_BIG);
	assert_null(strstr(f.ptr, "x=y"));
	buf_release(&f);
	err_clear();
}

static void
test_secret(void **state)
{
	struct buf b;
	char *p;

	buf_init_secret(&b, 0);
	assert_int_equal(buf_addstr(&b, "token"), 0);
	p = buf_detach(&b);
	assert_string_equal(p, "token");
	assert_true(b.secret);
	assert_null(b.ptr);
	assert_true(secret_equal(p, "token"));
	assert_false(secret_equal(p, "tokem"));
	assert_false(secret_equal(p, "token2"));
	secret_free(p);
	secret_free(NULL);
}

static void
test_errors(void **state)
{
	err_clear();
	assert_null(err_message());
	assert_int_equal(err_set(BBS_E_AUTH, "first %s", "one"), BBS_E_AUTH);
	assert_int_equal(err_set(BBS_E_IO, "second"), BBS_E_IO);
	assert_string_equal(err_message(), "first one");
	assert_int_equal(err_code(), BBS_E_AUTH);
	err_clear();
	err_set(BBS_E_IO, "line one\nline two");
	assert_string_equal(err_message(), "line one");
	err_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_form_half_built),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
