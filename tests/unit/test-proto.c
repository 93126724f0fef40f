/* SPDX-License-Identifier: MIT */
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

/* Names as git check-ref-format (with HEAD the only one-level name). */
static void
test_refname(void **state)
{
	static const char *const good[] = {
		"HEAD", "refs/heads/main", "refs/tags/v1.0", "refs/heads/a-b",
		"refs/heads/a.b", "refs/heads/\xc3\xa9t\xc3\xa9",
		"refs/pull/1/head", "refs/heads/x@y", "refs/heads/{x}",
		"foo/bar", "refs/heads/a.lockx", "refs/heads/@",
		"refs/heads/\xe2\x82\xac", "refs/heads/\xc2\xa0x",
		"refs/heads/\xe9t\xe9",
	};
	static const char *const bad[] = {
		"", "main", "@", "-x/y", "refs/heads/a..b", "refs/heads/a b",
		"refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b",
		"refs/heads/a?", "refs/heads/a*", "refs/heads/a[b",
		"refs/heads/a\\b", "refs/heads/a\nb", "refs/heads/a\rb",
		"refs/heads/\x1b[2J", "refs/heads/a\x7f", "refs/heads/a@{1}",
		"refs/heads//x", "/refs/heads/x", "refs/heads/x/",
		"refs/heads/.x", "refs/heads/x.", "refs/heads/x.lock",
		"refs/heads/x.lock/y", "refs/.heads/x", "refs/heads/a\tb",
		"HEAD^{}", "refs/heads/main\n\nok\nlock /tmp/x",
		"refs/heads/\xc2\x9b" "2J", "refs/heads/a\x9b" "2J",
		"refs/heads/\xe2\x82", "refs/heads/\xc2\x85/x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < BBS_ARRAY_SIZE(good); i++)
		if (!refname_ok(good[i], strlen(good[i])))
			fail_msg("refused '%s'", good[i]);
	for (i = 0; i < BBS_ARRAY_SIZE(bad); i++)
		if (refname_ok(bad[i], strlen(bad[i])))
			fail_msg("accepted '%s'", bad[i]);
	/* the length is the name's: a NUL inside is a bad byte */
	assert_false(refname_ok("refs/heads/a\0b", 14));
	assert_true(oid_hex_ok("0123456789abcdef0123456789abcdef01234567", 40));
	assert_false(oid_hex_ok("0123456789ABCDEF0123456789abcdef01234567", 40));
	assert_false(oid_hex_ok("0123456789abcdef0123456789abcdef0123456", 39));
}

#define OID1 "1111111111111111111111111111111111111111"
#define OID2 "2222222222222222222222222222222222222222"

static void
test_list_answer(void **state)
{
	struct ref_list l = { 0 };
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	ref_list_add(&l, OID1, "HEAD", 4, "refs/heads/main");
	ref_list_add(&l, OID1, "refs/heads/main", 15, NULL);
	ref_list_add(&l, OID2, "refs/tags/v1", 12, NULL);
	ref_list_add(&l, OID1, "refs/tags/v1^{}", 15, NULL);
	assert_int_equal(proto_list_answer(&out, &l, 0, "srv"), 0);
	assert_string_equal(out.ptr, "@refs/heads/main HEAD\n"
	    OID1 " refs/heads/main\n" OID2 " refs/tags/v1\n"
	    OID1 " refs/tags/v1^{}\n\n");
	buf_reset(&out);
	/* peeled entries are not refs: a push list leaves them out */
	ref_list_release(&l);
	ref_list_add(&l, OID2, "refs/tags/v1", 12, NULL);
	ref_list_add(&l, OID1, "refs/tags/v1^{}", 15, NULL);
	assert_int_equal(proto_list_answer(&out, &l, 1, "srv"), 0);
	assert_string_equal(out.ptr, OID2 " refs/tags/v1\n\n");
	ref_list_release(&l);
	buf_release(&out);
}

/* One bad ref anywhere: an error naming the server, nothing appended. */
static void
test_list_refused(void **state)
{
	static const struct {
		const char *hex, *name, *symref, *msg;
	} cases[] = {
		{ OID1, "refs/heads/a\n\nok\nlock /x", NULL,
		    "protocol error: http://srv/r advertised an invalid ref "
		    "name 'refs/heads/a^J^Jok^Jlock /x'" },
		{ OID1, "HEAD", "refs/heads/a\nok",
		    "protocol error: http://srv/r advertised an invalid "
		    "symref target 'refs/heads/a^Jok'" },
		{ OID1, "HEAD", "refs/heads/*", NULL },
		{ OID1, "HEAD", "refs/tags/v1^{}", NULL },
		{ OID1, "refs/heads/a..b^{}", NULL, NULL },
		{ "111111111111111111111111111111111111111", "refs/heads/x",
		    NULL, "protocol error: http://srv/r advertised an invalid "
		    "object id for 'refs/heads/x'" },
		{ "111111111111111111111111111111111111111\n", "refs/heads/x",
		    NULL, NULL },
	};
	struct ref_list l;
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 0);
	for (i = 0; i < BBS_ARRAY_SIZE(cases); i++) {
		memset(&l, 0, sizeof(l));
		ref_list_add(&l, OID2, "refs/heads/ok", 13, NULL);
		ref_list_add(&l, cases[i].hex, cases[i].name,
		    strlen(cases[i].name), cases[i].symref);
		buf_reset(&out);
		buf_addstr(&out, "before");
		assert_int_equal(proto_list_answer(&out, &l, 0,
		    "http://srv/r"), BBS_E_PROTOCOL);
		assert_string_equal(out.ptr, "before");
		if (cases[i].msg != NULL)
			assert_string_equal(err_message(), cases[i].msg);
		err_clear();
		ref_list_release(&l);
	}
	buf_release(&out);
}

static void
test_cquote(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "hook declined", "hook declined" },
		{ "say \"no\"", "\"say \\\"no\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "a\nb\tc\rd\a\b\v\f", "\"a\\nb\\tc\\rd\\a\\b\\v\\f\"" },
		{ "\x1b[1m\x7f\x01", "\"\\033[1m\\177\\001\"" },
		{ "\xc3\xa9", "\"\\303\\251\"" },
		{ "", "" },
	};
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 0);
	for (i = 0; i < BBS_ARRAY_SIZE(cases); i++) {
		buf_reset(&out);
		assert_int_equal(proto_cquote(&out, cases[i].in,
		    strlen(cases[i].in)), 0);
		assert_string_equal(out.ptr ? out.ptr : "", cases[i].out);
	}
	buf_release(&out);
}

static void
test_cunquote(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\"msg=say \\\"hi\\\"\"", "msg=say \"hi\"" },
		{ "\"msg=caf\\303\\251\"", "msg=caf\xc3\xa9" },
		{ "\"back\\\\slash\"", "back\\slash" },
		{ "\"\\a\\b\\f\\n\\r\\t\\v\"", "\a\b\f\n\r\t\v" },
		{ "\"\\033[1m\\177\\001\\377\"", "\x1b[1m\x7f\x01\xff" },
		{ "\"refs/heads/fix-\\303\\251:\"",
		    "refs/heads/fix-\xc3\xa9:" },
		{ "\"\"", "" },
	};
	static const char *const bad[] = {
		"plain",		/* not quoted */
		"\"no end",
		"\"text\" after",
		"\"bad \\q escape\"",
		"\"short \\30\"",
		"\"octal \\400 overflows\"",
		"\"octal \\38\"",
		"\"a NUL \\000\"",
		"\"trailing backslash\\",
		"\"",
	};
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 0);
	for (i = 0; i < BBS_ARRAY_SIZE(cases); i++) {
		buf_reset(&out);
		assert_int_equal(proto_cunquote(&out, cases[i].in), 0);
		assert_string_equal(out.ptr ? out.ptr : "", cases[i].out);
		/* what proto_cquote writes comes back */
		buf_reset(&out);
		assert_int_equal(proto_cquote(&out, cases[i].out,
		    strlen(cases[i].out)), 0);
		if (out.len > 0 && out.ptr[0] == '"') {
			char *q = xstrdup(out.ptr);

			buf_reset(&out);
			assert_int_equal(proto_cunquote(&out, q), 0);
			assert_string_equal(out.ptr, cases[i].out);
			free(q);
		}
	}
	for (i = 0; i < BBS_ARRAY_SIZE(bad); i++) {
		buf_reset(&out);
		assert_int_equal(buf_addstr(&out, "kept"), 0);
		assert_int_equal(proto_cunquote(&out, bad[i]), BBS_E_INVALID);
		assert_string_equal(out.ptr, "kept");
		err_clear();
	}
	buf_release(&out);
}

static void
test_quoted_options(void **state)
{
	struct helper_options o;
	char *out = NULL;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(run("option push-option \"msg=say \\\"hi\\\"\"\n"
	    "option push-option \"msg=caf\\303\\251\"\n"
	    "option push-option plain=\"as is\"\n"
	    "option cas \"refs/heads/fix-\\303\\251:" ZERO_OID "\"\n"
	    "option push-option \"msg=bad \\q\"\n"
	    "option cas \"refs/heads/open\n"
	    "\n", &out, &o), 0);
	assert_string_equal(out, "ok\nok\nok\nok\n"
	    "error invalid quoting\nerror invalid quoting\n");
	assert_int_equal(o.push_options_nr, 3);
	assert_string_equal(o.push_options[0], "msg=say \"hi\"");
	assert_string_equal(o.push_options[1], "msg=caf\xc3\xa9");
	assert_string_equal(o.push_options[2], "plain=\"as is\"");
	assert_int_equal(o.cas_nr, 1);
	assert_string_equal(o.cas[0], "refs/heads/fix-\xc3\xa9:" ZERO_OID);
	helper_options_release(&o);
	free(out);
}

static void
test_push_status(void **state)
{
	struct push_ref r = { 0 };
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	r.dst = xstrdup("refs/heads/main");
	assert_int_equal(proto_push_status(&out, &r), 0);
	r.error = xstrdup("hook declined\nok refs/heads/main");
	assert_int_equal(proto_push_status(&out, &r), 0);
	free(r.error);
	r.error = xstrdup("\"quoted\" \x1b[2J");
	assert_int_equal(proto_push_status(&out, &r), 0);
	free(r.error);
	free(r.dst);
	assert_string_equal(out.ptr, "ok refs/heads/main\n"
	    "error refs/heads/main hook declined^Jok refs/heads/main\n"
	    "error refs/heads/main \"\\\"quoted\\\" ^[[2J\"\n");
	buf_release(&out);
}

static void
test_text_sanitize(void **state)
{
	struct buf out;
	char *s;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(text_sanitize(&out, "a\x1b[1m\r\n\t\x7f\0z", 11, 1),
	    0);
	assert_int_equal(out.len, 14);
	assert_memory_equal(out.ptr, "a^[[1m\r\n\t^?^@z", 14);
	buf_reset(&out);
	assert_int_equal(text_sanitize(&out, "a\r\nb", 4, 0), 0);
	assert_string_equal(out.ptr, "a^M^Jb");
	buf_release(&out);
	s = text_sanitized("\x01\x1f", 2);
	assert_string_equal(s, "^A^_");
	free(s);
	/* a full buffer is an error, not a cut */
	buf_init(&out, 4);
	assert_int_equal(text_sanitize(&out, "\x1b\x1b\x1b", 3, 0),
	    BBS_E_TOO_BIG);
	err_clear();
	buf_release(&out);
}

/* A report-status in pkt-lines, from NUL-separated lines. */
static void
report_of(struct push_report *rp, const char *const *lines)
{
	struct buf raw;

	buf_init(&raw, 0);
	for (; *lines != NULL; lines++)
		assert_int_equal(pkt_add(&raw, *lines, strlen(*lines)), 0);
	assert_int_equal(pkt_flush(&raw), 0);
	push_report_init(rp, 0, 16);
	assert_int_equal(push_report_feed(rp, raw.ptr, raw.len), 0);
	buf_release(&raw);
}

static void
test_report(void **state)
{
	static const char *const ok[] = { "unpack ok\n",
	    "ng refs/heads/a hook \"no\"\n", "ok refs/heads/b\n", NULL };
	static const char *const injected[] = { "unpack ok\n",
	    "ng refs/heads/a no\nok refs/heads/a\n", NULL };
	static const char *const stranger[] = { "unpack ok\n",
	    "ok refs/heads/c\n", NULL };
	static const char *const twice[] = { "unpack ok\n",
	    "ng refs/heads/a no\n", "ok refs/heads/a\n", NULL };
	static const char *const unpack_late[] = { "ok refs/heads/a\n",
	    "unpack ok\n", NULL };
	static const char *const unknown[] = { "unpack ok\n",
	    "okay refs/heads/a\n", NULL };
	static const char *const missing[] = { "unpack ok\n", NULL };
	static const char *const unpack_failed[] = {
	    "unpack pack exceeds maximum \x1b[1mallowed size\n",
	    "ng refs/heads/a unpacker error\n", NULL };
	static const char *const *const bad[] = { injected, stranger, twice,
	    unpack_late, unknown };
	struct push_ref refs[3] = { { 0 } };
	struct push_report rp;
	int sent[3] = { 1, 1, 0 };
	char a[] = "refs/heads/a", b[] = "refs/heads/b", c[] = "refs/heads/c";
	size_t i;

	(void)state;
	refs[0].dst = a;
	refs[1].dst = b;
	refs[2].dst = c;
	report_of(&rp, ok);
	assert_int_equal(push_report_apply(&rp, refs, 3, sent), 0);
	assert_string_equal(refs[0].error, "hook \"no\"");
	assert_null(refs[1].error);
	assert_null(refs[2].error);
	push_report_release(&rp);
	free(refs[0].error);
	refs[0].error = NULL;
	for (i = 0; i < BBS_ARRAY_SIZE(bad); i++) {
		sent[0] = sent[1] = 1;
		report_of(&rp, bad[i]);
		assert_int_equal(push_report_apply(&rp, refs, 3, sent),
		    BBS_E_PROTOCOL);
		err_clear();
		push_report_release(&rp);
		free(refs[0].error);
		refs[0].error = NULL;
	}
	sent[0] = sent[1] = 1;
	report_of(&rp, missing);
	assert_int_equal(push_report_apply(&rp, refs, 3, sent), 0);
	assert_string_equal(refs[0].error, "no status reported by the server");
	assert_string_equal(refs[1].error, "no status reported by the server");
	assert_null(refs[2].error);
	assert_null(rp.unpack_error);
	push_report_release(&rp);
	free(refs[0].error);
	free(refs[1].error);
	refs[0].error = refs[1].error = NULL;
	sent[0] = sent[1] = 1;
	report_of(&rp, unpack_failed);
	assert_int_equal(push_report_apply(&rp, refs, 3, sent), 0);
	assert_string_equal(rp.unpack_error,
	    "pack exceeds maximum ^[[1mallowed size");
	assert_string_equal(refs[0].error, "unpacker error");
	assert_string_equal(refs[1].error, "unpacker error");
	push_report_release(&rp);
	assert_null(rp.unpack_error);
	free(refs[0].error);
	free(refs[1].error);
}

static void
test_push_adv(void **state)
{
	struct push_adv a;
	struct buf body;

	(void)state;
	memset(&a, 0, sizeof(a));
	buf_init(&body, 0);
	pkt_addf(&body, "# service=git-receive-pack\n");
	pkt_flush(&body);
	pkt_add(&body, OID1 " refs/heads/main\0report-status delete-refs\n",
	    OID_HEX_LEN + 43);
	pkt_addf(&body, OID2 " .have\n");
	pkt_addf(&body, OID2 " refs/heads/x\n");
	pkt_flush(&body);
	assert_int_equal(push_adv_parse(&a, body.ptr, body.len), 0);
	assert_int_equal(a.refs.nr, 2);
	assert_string_equal(a.refs.v[0].name, "refs/heads/main");
	assert_string_equal(a.refs.v[1].hex, OID2);
	assert_string_equal(a.caps, "report-status delete-refs");
	push_adv_release(&a);
	/* an ERR packet is the server's error, masked */
	buf_reset(&body);
	pkt_addf(&body, "ERR go \x1b[2Jaway\n");
	assert_int_equal(push_adv_parse(&a, body.ptr, body.len),
	    BBS_E_PROTOCOL);
	assert_string_equal(err_message(), "remote error: go ^[[2Jaway");
	err_clear();
	push_adv_release(&a);
	/* an id that is not 40 hex digits */
	buf_reset(&body);
	pkt_addf(&body, "111111111111111111111111111111111111111g refs/x\n");
	assert_int_equal(push_adv_parse(&a, body.ptr, body.len),
	    BBS_E_PROTOCOL);
	err_clear();
	push_adv_release(&a);
	buf_release(&body);
}

/*
 * A side-band line longer than the buffer is shown in pieces, and what
 * follows it is shown too.
 */
static void
test_sideband_long_line(void **state)
{
	struct sideband sb;
	char *longline, line[70000 + 64];
	size_t xs = 0, n;
	int after = 0, first = 0;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	sideband_init(&sb, 1);
	sb.out = f;
	longline = malloc(70001);
	assert_non_null(longline);
	memset(longline, 'x', 70000);
	longline[70000] = '\n';
	sideband_write(&sb, "first\n", 6);
	sideband_write(&sb, longline, 70001);
	sideband_write(&sb, "after the long line\n", 20);
	sideband_release(&sb);
	free(longline);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_int_equal(strncmp(line, "remote: ", 8), 0);
		if (strcmp(line, "remote: first\n") == 0)
			first++;
		else if (strcmp(line, "remote: after the long line\n") == 0)
			after++;
		else {
			n = strspn(line + 8, "x");
			assert_string_equal(line + 8 + n, "\n");
			xs += n;
		}
	}
	fclose(f);
	assert_int_equal(first, 1);
	assert_int_equal(xs, 70000);
	assert_int_equal(after, 1);
}

/* Every line of `f`, less its "remote: ", into `out`; the line count. */
static int
sideband_lines(FILE *f, struct buf *out)
{
	char line[80000];
	int n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_int_equal(strncmp(line, "remote: ", 8), 0);
		assert_int_equal(buf_addstr(out, line + 8), 0);
		n++;
	}
	return n;
}

/*
 * C1 controls are masked; a UTF-8 character cut between two packets, or
 * by the end of a long line's piece, is shown whole.
 */
static void
test_sideband_utf8(void **state)
{
	static const char *const pieces[] = {
		"caf\xc3", "\xa9 \xe2", "\x82", "\xac \xc2", "\x9b" "31mred\n",
		"cut \xe2\x82",
	};
	struct sideband sb;
	struct buf got;
	char *euros;
	size_t i, n = 3 * 10000;
	int c1;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	sideband_init(&sb, 1);
	sb.out = f;
	for (i = 0; i < BBS_ARRAY_SIZE(pieces); i++)
		sideband_write(&sb, pieces[i], strlen(pieces[i]));
	sideband_release(&sb);
	buf_init(&got, 1 << 20);
	assert_int_equal(sideband_lines(f, &got), 2);
	assert_string_equal(got.ptr,
	    "caf\xc3\xa9 \xe2\x82\xac M-^[31mred\ncut \xe2M-^B\n");
	buf_release(&got);
	fclose(f);

	/* 10,000 euro signs: pieces of 16 KiB, never inside a character */
	f = tmpfile();
	assert_non_null(f);
	sideband_init(&sb, 1);
	sb.out = f;
	euros = malloc(n + 1);
	assert_non_null(euros);
	for (i = 0; i < n; i += 3)
		memcpy(euros + i, "\xe2\x82\xac", 3);
	euros[n] = '\n';
	sideband_write(&sb, "x", 1);	/* so no piece starts aligned */
	sideband_write(&sb, euros, n + 1);
	sideband_release(&sb);
	free(euros);
	buf_init(&got, 1 << 20);
	assert_true(sideband_lines(f, &got) > 1);
	assert_int_equal(got.ptr[0], 'x');
	for (i = 1; i < got.len; i += 3) {
		if (got.ptr[i] == '\n') {
			i -= 2;
			continue;
		}
		assert_int_equal(text_char(got.ptr + i, got.len - i, &c1), 3);
		assert_false(c1);
		assert_memory_equal(got.ptr + i, "\xe2\x82\xac", 3);
	}
	buf_release(&got);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_sideband_long_line),
		cmocka_unit_test(test_sideband_utf8),
		cmocka_unit_test(test_capabilities_options),
		cmocka_unit_test(test_shallow_refused),
		cmocka_unit_test(test_bad_commands),
		cmocka_unit_test(test_refname),
		cmocka_unit_test(test_list_answer),
		cmocka_unit_test(test_list_refused),
		cmocka_unit_test(test_cquote),
		cmocka_unit_test(test_cunquote),
		cmocka_unit_test(test_quoted_options),
		cmocka_unit_test(test_push_status),
		cmocka_unit_test(test_text_sanitize),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_push_adv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
