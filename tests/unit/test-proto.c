/*
 * Unit tests for the protocol reader and for what the helper answers
 * without a network: capabilities, options, malformed commands.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

static FILE *
input(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

static void
test_read_line(void **state)
{
	struct buf line;
	FILE *f = input("capabilities\n\nlast");

	buf_init(&line, 0);
	assert_int_equal(proto_read_line(f, &line), 1);
	assert_string_equal(line.ptr, "capabilities");
	assert_int_equal(proto_read_line(f, &line), 1);
	assert_int_equal(line.len, 0);
	err_clear();
	/* a line without its LF at EOF is a protocol error */
	assert_int_equal(proto_read_line(f, &line), BBS_E_PROTOCOL);
	err_clear();
	fclose(f);
	f = input("");
	assert_int_equal(proto_read_line(f, &line), 0);
	fclose(f);
	buf_release(&line);
}

static void
test_long_line(void **state)
{
	size_t n = 70 * 1024;
	char *big = malloc(n + 2);
	struct buf line;
	FILE *f;

	memset(big, 'a', n);
	big[n] = '\n';
	big[n + 1] = '\0';
	f = input(big);
	buf_init(&line, 0);
	err_clear();
	assert_int_equal(proto_read_line(f, &line), BBS_E_PROTOCOL);
	assert_non_null(strstr(err_message(), "too long"));
	err_clear();
	fclose(f);
	buf_release(&line);
	free(big);
}

/* Run the protocol on `in` with no repository and no network. */
static int
run(const char *in, char **out, struct helper_options *o)
{
	struct transport *t = NULL;
	struct conn conn;
	size_t outlen;
	FILE *fin = input(in), *fout = open_memstream(out, &outlen);
	int r;

	memset(&conn, 0, sizeof(conn));
	unsetenv("GIT_DIR");
	assert_int_equal(transport_new(&t, &conn, o), 0);
	err_clear();
	r = proto_run(fin, fout, t, &conn, o);
	fclose(fin);
	fclose(fout);
	transport_free(t);
	return r;
}

static void
test_capabilities_options(void **state)
{
	struct helper_options o;
	char *out = NULL;

	memset(&o, 0, sizeof(o));
	assert_int_equal(run("capabilities\n"
	    "option progress true\n"
	    "option verbosity 2\n"
	    "option followtags maybe\n"
	    "option no-such-thing 1\n"
	    "option cas refs/heads/main:" ZERO_OID "\n"
	    "option push-option ci.skip\n"
	    "option atomic true\n"
	    "\n", &out, &o), 0);
	assert_string_equal(out,
	    "fetch\npush\noption\ncheck-connectivity\n\n"
	    "ok\nok\nerror invalid value\nunsupported\nok\nok\nok\n");
	assert_int_equal(o.progress, 1);
	assert_int_equal(o.verbosity, 2);
	assert_int_equal(o.atomic, 1);
	assert_int_equal(o.cas_nr, 1);
	assert_string_equal(o.push_options[0], "ci.skip");
	helper_options_release(&o);
	free(out);
}

static void
test_shallow_refused(void **state)
{
	struct helper_options o;
	char *out = NULL;

	/* no libgit2 1.x fetches by date: the fetch itself fails */
	memset(&o, 0, sizeof(o));
	assert_int_equal(run("option deepen-since 1234567890\n"
	    "fetch " ZERO_OID " refs/heads/main\n\n", &out, &o),
	    BBS_E_REPORTED);
	assert_non_null(strstr(out, "error not supported"));
	assert_null(strstr(out, "\n\n"));	/* no fetch answer */
	err_clear();
	helper_options_release(&o);
	free(out);

	/* --depth: taken where libgit2 fetches it correctly (1.9+) */
	memset(&o, 0, sizeof(o));
	assert_int_equal(run("option depth 3\n", &out, &o), 0);
	if (shallow_supported()) {
		assert_string_equal(out, "ok\n");
		assert_int_equal(o.depth, 3);
	} else {
		assert_string_equal(out, "error not supported\n");
		assert_int_equal(o.unsupported_shallow, 1);
	}
	helper_options_release(&o);
	free(out);
}

static void
test_bad_commands(void **state)
{
	struct helper_options o;
	char *out = NULL;

	memset(&o, 0, sizeof(o));
	assert_int_equal(run("frobnicate\n", &out, &o), BBS_E_PROTOCOL);
	assert_non_null(strstr(err_message(), "unknown command"));
	err_clear();
	free(out);
	assert_int_equal(run("fetch 1234 refs/heads/main\n\n", &out, &o),
	    BBS_E_PROTOCOL);
	err_clear();
	free(out);
	/* EOF in the middle of a batch: nothing is done */
	assert_int_equal(run("fetch " ZERO_OID " refs/heads/main\n", &out,
	    &o), BBS_E_PROTOCOL);
	assert_non_null(strstr(err_message(), "middle of a fetch batch"));
	assert_string_equal(out, "");
	err_clear();
	free(out);
	assert_int_equal(run("push refs/heads/main\n\n", &out, &o),
	    BBS_E_PROTOCOL);
	err_clear();
	free(out);
	helper_options_release(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_capabilities_options),
		cmocka_unit_test(test_shallow_refused),
		cmocka_unit_test(test_bad_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
