/* SPDX-License-Identifier: MIT */
/*
 * proto.c - git's remote-helper protocol (gitremote-helpers(7)).
 *
 * The only writer to the protocol stream: every reply is flushed, every
 * human message goes to stderr.  Lines are read into a bounded buffer;
 * fetch and push batches are collected up to their blank line and only
 * then run, so a batch cut short by EOF changes nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "helper.h"

#define LINE_MAX_LEN ((size_t)64 * 1024)
#define BATCH_MAX ((size_t)1000000)
/* a list or push answer: bounded by what the server may advertise */
#define ANSWER_MAX ((size_t)512 * 1024 * 1024)

int
proto_read_line(FILE *in, struct buf *line)
{
	int c, r;

	buf_reset(line);
	for (;;) {
		c = getc(in);
		if (c == EOF) {
			if (ferror(in))
				return err_set(BBS_E_IO, "error reading "
				    "commands from git");
			if (line->len > 0)
				return err_set(BBS_E_PROTOCOL, "incomplete "
				    "command line from git");
			return 0;
		}
		if (c == '\n')
			return 1;
		if (line->len >= LINE_MAX_LEN - 1)
			return err_set(BBS_E_PROTOCOL, "command line from git "
			    "is too long");
		if ((r = buf_add(line, &(char){ (char)c }, 1)) != 0)
			return r;
	}
}

static const char *
skip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static int
parse_bool_opt(const char *v, int *out)
{
	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static void
strv_push(char ***v, size_t *nr, const char *s)
{
	*v = xrealloc(*v, (*nr + 1) * sizeof(**v));
	(*v)[(*nr)++] = xstrdup(s);
}

static void
strv_clear(char ***v, size_t *nr)
{
	size_t i;

	for (i = 0; i < *nr; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*nr = 0;
}

void
helper_options_release(struct helper_options *o)
{
	strv_clear(&o->push_options, &o->push_options_nr);
	strv_clear(&o->cas, &o->cas_nr);
}

void
ref_list_add(struct ref_list *l, const char *hex, const char *name,
    size_t namelen, const char *symref)
{
	struct remote_ref *r;

	if (l->nr == l->alloc) {
		/*
		 * Doubling: 100,000 refs are 13 reallocations, not 100,000.
		 * No overflow: a list comes from a bounded advertisement.
		 */
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	r = &l->v[l->nr++];
	memset(r->hex, 0, sizeof(r->hex));
	strncpy(r->hex, hex, OID_HEX_LEN);
	r->name = xstrndup(name, namelen);
	r->symref = symref ? xstrdup(symref) : NULL;
}

void
ref_list_release(struct ref_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->v[i].name);
		free(l->v[i].symref);
	}
	free(l->v);
	l->v = NULL;
	l->nr = 0;
	l->alloc = 0;
}

/* The length of `name` without a "^{}" suffix, or 0 if it has none. */
static size_t
peeled_base_len(const char *name, size_t len)
{
	if (len > 3 && memcmp(name + len - 3, "^{}", 3) == 0)
		return len - 3;
	return 0;
}

static int
bad_ref(const char *server, const char *what, const char *name)
{
	char *shown = text_sanitized(name, strnlen(name, 200));
	int r;

	r = err_set(BBS_E_PROTOCOL, "protocol error: %s advertised %s '%s'",
	    server, what, shown);
	free(shown);
	return r;
}

/* Check one ref and append its line; 1 when it is left out. */
static int
list_line(struct buf *out, const struct remote_ref *ref, int for_push,
    const char *server)
{
	size_t len = strlen(ref->name), base = peeled_base_len(ref->name, len);

	if (!refname_ok(ref->name, base ? base : len))
		return bad_ref(server, "an invalid ref name", ref->name);
	if (base && (for_push || ref->symref != NULL))
		return 1;	/* not a ref: git's transport drops it too */
	if (ref->symref != NULL) {
		if (!refname_ok(ref->symref, strlen(ref->symref)) ||
		    peeled_base_len(ref->symref, strlen(ref->symref)))
			return bad_ref(server, "an invalid symref target",
			    ref->symref);
		return buf_addf(out, "@%s %s\n", ref->symref, ref->name);
	}
	if (!oid_hex_ok(ref->hex, strnlen(ref->hex, OID_HEX_LEN + 1)))
		return bad_ref(server, "an invalid object id for",
		    ref->name);
	/* pieces, not a format: this runs once per ref (100,000 of them) */
	if (buf_add(out, ref->hex, OID_HEX_LEN) == 0 &&
	    buf_add(out, " ", 1) == 0 && buf_add(out, ref->name, len) == 0)
		buf_add(out, "\n", 1);
	return buf_error(out);
}

int
proto_list_answer(struct buf *out, const struct ref_list *refs,
    int for_push, const char *server)
{
	size_t i, old = out->len;
	int r = 0;

	for (i = 0; i < refs->nr && r >= 0; i++)
		r = list_line(out, &refs->v[i], for_push, server);
	if (r >= 0)
		r = buf_add(out, "\n", 1);
	if (r < 0) {
		out->len = old;
		if (out->ptr != NULL)
			out->ptr[old] = '\0';
		return r;
	}
	return 0;
}

/* The escape of `c` after a backslash, or 0 for the octal form. */
static char
cquote_escape(unsigned char c)
{
	static const char from[] = "\a\b\t\n\v\f\r\"\\";
	static const char to[] = "abtnvfr\"\\";
	const char *p;

	if (c == 0)
		return 0;
	p = strchr(from, c);
	return p ? to[p - from] : 0;
}

static int
cquote_needed(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
}

int
proto_cquote(struct buf *out, const char *s, size_t len)
{
	size_t i;
	unsigned char c;
	char esc;
	int r = 0;

	for (i = 0; i < len && !cquote_needed((unsigned char)s[i]); i++)
		;
	if (i == len)
		return buf_add(out, s, len);
	r = buf_add(out, "\"", 1);
	for (i = 0; i < len && r == 0; i++) {
		c = (unsigned char)s[i];
		if (!cquote_needed(c))
			r = buf_add(out, &s[i], 1);
		else if ((esc = cquote_escape(c)) != 0)
			r = buf_addf(out, "\\%c", esc);
		else
			r = buf_addf(out, "\\%03o", c);
	}
	if (r == 0)
		r = buf_add(out, "\"", 1);
	return r;
}

/* The byte after a backslash that stands for itself or a control. */
static int
cunquote_escape(char c)
{
	static const char from[] = "abtnvfr\"\\";
	static const char to[] = "\a\b\t\n\v\f\r\"\\";
	const char *p = c != '\0' ? strchr(from, c) : NULL;

	return p ? (unsigned char)to[p - from] : -1;
}

/* The byte of the three octal digits at `s` (at most \377), or -1. */
static int
cunquote_octal(const char *s)
{
	if (s[0] < '0' || s[0] > '3' || s[1] < '0' || s[1] > '7' ||
	    s[2] < '0' || s[2] > '7')
		return -1;
	return ((s[0] - '0') << 6) | ((s[1] - '0') << 3) | (s[2] - '0');
}

int
proto_cunquote(struct buf *out, const char *s)
{
	size_t old = out->len, n;
	int c, r = 0;

	if (*s++ != '"')
		goto bad;
	for (;;) {
		n = strcspn(s, "\"\\");
		if ((r = buf_add(out, s, n)) != 0)
			goto fail;
		s += n;
		if (*s == '"' && s[1] == '\0')
			return 0;
		if (*s++ != '\\')
			goto bad;	/* the end, or text after the quote */
		if ((c = cunquote_escape(*s)) >= 0)
			s++;
		else if ((c = cunquote_octal(s)) > 0)
			s += 3;
		else
			goto bad;	/* also \000: a C string holds no NUL */
		if ((r = buf_add(out, &(char){ (char)c }, 1)) != 0)
			goto fail;
	}
bad:
	r = err_set(BBS_E_INVALID, "invalid quoting");
fail:
	out->len = old;
	if (out->ptr != NULL)
		out->ptr[old] = '\0';
	return r;
}

int
proto_push_status(struct buf *out, const struct push_ref *r)
{
	struct buf msg;
	int ret;

	if (r->error == NULL)
		return buf_addf(out, "ok %s\n", r->dst);
	buf_init(&msg, LINE_MAX_LEN);
	if ((ret = buf_addf(out, "error %s ", r->dst)) == 0 &&
	    (ret = text_sanitize(&msg, r->error, strnlen(r->error,
	    LINE_MAX_LEN / 8), 0)) == 0 &&
	    (ret = proto_cquote(out, msg.ptr ? msg.ptr : "", msg.len)) == 0)
		ret = buf_add(out, "\n", 1);
	buf_release(&msg);
	return ret;
}

/* Write a whole answer to git, or fail with nothing half-written. */
static int
proto_write(FILE *out, const struct buf *answer)
{
	if (answer->len > 0 &&
	    fwrite(answer->ptr, 1, answer->len, out) != answer->len)
		return err_set(BBS_E_IO, "cannot answer git");
	if (fflush(out) != 0)
		return err_set(BBS_E_IO, "cannot answer git");
	return 0;
}

/*
 * Keep a push-option or cas value, C-unquoted when git quoted it (it
 * does when the value has a '"', a backslash, a control byte or a byte
 * >= 0x80), as git's remote-curl does.
 */
static const char *
option_push_value(char ***v, size_t *nr, const char *value)
{
	struct buf b;
	const char *answer = "ok";

	if (*value != '"') {
		strv_push(v, nr, value);
		return answer;
	}
	buf_init(&b, LINE_MAX_LEN);
	if (proto_cunquote(&b, value) != 0) {
		err_clear();
		answer = "error invalid quoting";
	} else
		strv_push(v, nr, b.ptr != NULL ? b.ptr : "");
	buf_release(&b);
	return answer;
}

/* Answer one "option NAME VALUE": "ok", "unsupported" or "error ...". */
static const char *
handle_option(struct helper_options *o, const char *arg)
{
	const char *sp = strchr(arg, ' '), *v;
	char name[64];
	size_t n;
	int *flag = NULL;

	if (sp == NULL || (n = (size_t)(sp - arg)) >= sizeof(name))
		return "error malformed option";
	memcpy(name, arg, n);
	name[n] = '\0';
	v = sp + 1;
	if (strcmp(name, "verbosity") == 0) {
		o->verbosity = atoi(v);
		return "ok";
	}
	if (strcmp(name, "push-option") == 0)
		return option_push_value(&o->push_options,
		    &o->push_options_nr, v);
	if (strcmp(name, "cas") == 0)
		return option_push_value(&o->cas, &o->cas_nr, v);
	if (shallow_is_option(name))
		return shallow_option(o, name, v);
	if (strcmp(name, "progress") == 0)
		flag = &o->progress;
	else if (strcmp(name, "followtags") == 0)
		flag = &o->followtags;
	else if (strcmp(name, "cloning") == 0)
		flag = &o->cloning;
	else if (strcmp(name, "check-connectivity") == 0)
		flag = &o->check_connectivity;
	else if (strcmp(name, "dry-run") == 0)
		flag = &o->dry_run;
	else if (strcmp(name, "atomic") == 0)
		flag = &o->atomic;
	else
		return "unsupported";
	if (parse_bool_opt(v, flag) != 0)
		return "error invalid value";
	return "ok";
}

struct batch {
	char **a;
	char **b;
	size_t nr, alloc;
};

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nr; i++) {
		free(b->a[i]);
		free(b->b[i]);
	}
	free(b->a);
	free(b->b);
	memset(b, 0, sizeof(*b));
}

static void
batch_add(struct batch *b, char *x, char *y)
{
	if (b->nr == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 16;
		b->a = xrealloc(b->a, b->alloc * sizeof(*b->a));
		b->b = xrealloc(b->b, b->alloc * sizeof(*b->b));
	}
	b->a[b->nr] = x;
	b->b[b->nr] = y;
	b->nr++;
}

/* Parse "fetch <oid> <name>" into the batch. */
static int
fetch_line(struct batch *b, const char *arg)
{
	const char *sp = strchr(arg, ' ');
	size_t i;

	if (sp == NULL || sp - arg != OID_HEX_LEN || sp[1] == '\0')
		return err_set(BBS_E_PROTOCOL, "malformed fetch command from "
		    "git: 'fetch %s'", arg);
	for (i = 0; i < OID_HEX_LEN; i++)
		if (!strchr("0123456789abcdef", arg[i]))
			return err_set(BBS_E_PROTOCOL, "malformed object id "
			    "in fetch command");
	batch_add(b, xstrndup(arg, OID_HEX_LEN), xstrdup(sp + 1));
	return 0;
}

struct batch_entry {
	const char *name;
	size_t pos;
};

/* Order entries by name, then by position: the first comes first. */
static int
batch_entry_cmp(const void *x, const void *y)
{
	const struct batch_entry *e = x, *f = y;
	int r = strcmp(e->name, f->name);

	return r != 0 ? r : (e->pos > f->pos) - (e->pos < f->pos);
}

/*
 * Keep the first entry of each name, in git's order (a clone names HEAD's
 * target twice), in time n log n: a clone can name 100,000 refs.
 */
static void
fetch_dedupe(struct batch *b)
{
	struct batch_entry *e;
	size_t i, n = 0;

	if (b->nr < 2)
		return;
	e = xcalloc(b->nr, sizeof(*e));
	for (i = 0; i < b->nr; i++) {
		e[i].name = b->b[i];
		e[i].pos = i;
	}
	qsort(e, b->nr, sizeof(*e), batch_entry_cmp);
	for (i = 1; i < b->nr; i++) {
		if (strcmp(e[i - 1].name, e[i].name) != 0)
			continue;
		free(b->a[e[i].pos]);	/* a later repeat */
		free(b->b[e[i].pos]);
		b->a[e[i].pos] = NULL;
		b->b[e[i].pos] = NULL;
		e[i].name = e[i - 1].name;	/* still valid for the next */
	}
	free(e);
	for (i = 0; i < b->nr; i++) {
		if (b->b[i] == NULL)
			continue;
		b->a[n] = b->a[i];
		b->b[n] = b->b[i];
		n++;
	}
	b->nr = n;
}

/* Parse "push [+]<src>:<dst>" into the batch (a: src, b: dst). */
static int
push_line(struct batch *b, const char *arg, int **force)
{
	const char *colon;
	int f = 0;

	if (*arg == '+') {
		f = 1;
		arg++;
	}
	colon = strrchr(arg, ':');
	if (colon == NULL || colon[1] == '\0')
		return err_set(BBS_E_PROTOCOL, "malformed push command from "
		    "git: 'push %s'", arg);
	batch_add(b, xstrndup(arg, (size_t)(colon - arg)), xstrdup(colon + 1));
	*force = xrealloc(*force, b->nr * sizeof(**force));
	(*force)[b->nr - 1] = f;
	return 0;
}

/* Read the rest of a batch that started with `first`. */
static int
read_batch(FILE *in, struct buf *line, const char *cmd, struct batch *b,
    int **force)
{
	const char *arg;
	int r;

	for (;;) {
		if (b->nr >= BATCH_MAX)
			return err_set(BBS_E_PROTOCOL, "too many refs in one "
			    "batch");
		if ((arg = skip_prefix(line->ptr, cmd)) == NULL)
			return err_set(BBS_E_PROTOCOL, "unexpected command "
			    "'%.40s' inside a %.5s batch", line->ptr, cmd);
		r = force ? push_line(b, arg, force) : fetch_line(b, arg);
		if (r != 0)
			return r;
		if ((r = proto_read_line(in, line)) < 0)
			return r;
		if (r == 0)
			return err_set(BBS_E_PROTOCOL, "git closed the "
			    "connection in the middle of a %.5s batch", cmd);
		if (line->len == 0)
			return 0;
	}
}

static int
do_fetch(FILE *in, FILE *out, struct buf *line, struct transport *t,
    struct helper_options *o)
{
	struct batch b = { 0 };
	char *lockfile = NULL;
	int r, connected = 0;

	if ((r = read_batch(in, line, "fetch ", &b, NULL)) != 0)
		goto out;
	fetch_dedupe(&b);
	if (o->unsupported_shallow) {
		/* the option's answer already said why, in one line */
		r = err_set(BBS_E_REPORTED, "shallow fetch refused");
		goto out;
	}
	if ((r = transport_fetch(t, b.b, b.a, b.nr, &lockfile,
	    &connected)) != 0)
		goto out;
	if (lockfile != NULL)
		fprintf(out, "lock %s\n", lockfile);
	if (connected && o->check_connectivity)
		fprintf(out, "connectivity-ok\n");
	fprintf(out, "\n");
	fflush(out);
out:
	free(lockfile);
	batch_clear(&b);
	return r;
}

static int
do_push(FILE *in, FILE *out, struct buf *line, struct push_state *ps)
{
	struct batch b = { 0 };
	struct push_ref *refs = NULL;
	struct buf answer;
	int *force = NULL, r;
	size_t i;

	buf_init(&answer, ANSWER_MAX);
	if ((r = read_batch(in, line, "push ", &b, &force)) != 0)
		goto out;
	refs = xcalloc(b.nr, sizeof(*refs));
	for (i = 0; i < b.nr; i++) {
		refs[i].src = b.a[i];
		refs[i].dst = b.b[i];
		refs[i].force = force[i];
	}
	r = push_run(ps, refs, b.nr);
	if (r != 0) {
		/* a whole-push failure: every ref fails with the reason */
		fprintf(stderr, "error: %s\n", err_message());
		if (err_hint_message())
			fprintf(stderr, "hint: %s\n", err_hint_message());
		for (i = 0; i < b.nr; i++)
			if (refs[i].error == NULL)
				refs[i].error = xstrdup(err_message());
		err_clear();
		r = 0;
	}
	for (i = 0; i < b.nr && r == 0; i++)
		r = proto_push_status(&answer, &refs[i]);
	if (r == 0)
		r = buf_add(&answer, "\n", 1);
	if (r == 0)
		r = proto_write(out, &answer);
out:
	buf_release(&answer);
	if (refs != NULL)
		for (i = 0; i < b.nr; i++)
			free(refs[i].error);
	free(refs);
	free(force);
	batch_clear(&b);
	return r;
}

static int
do_list(FILE *out, struct transport *t, const struct conn *conn)
{
	struct ref_list refs = { 0 };
	struct buf answer;
	int r;

	buf_init(&answer, ANSWER_MAX);
	if ((r = transport_refs(t, &refs)) == 0 &&
	    (r = proto_list_answer(&answer, &refs, 0, conn->url->url)) == 0)
		r = proto_write(out, &answer);
	ref_list_release(&refs);
	buf_release(&answer);
	return r;
}

static int
do_list_for_push(FILE *out, struct push_state *ps, const struct conn *conn)
{
	const struct ref_list *refs;
	struct buf answer;
	int r;

	buf_init(&answer, ANSWER_MAX);
	if ((r = push_refs(ps, &refs)) == 0 &&
	    (r = proto_list_answer(&answer, refs, 1, conn->url->url)) == 0)
		r = proto_write(out, &answer);
	buf_release(&answer);
	return r;
}

int
proto_run(FILE *in, FILE *out, struct transport *t, struct conn *conn,
    struct helper_options *o)
{
	struct push_state *ps = NULL;
	struct buf line;
	const char *arg;
	int r;

	buf_init(&line, LINE_MAX_LEN);
	push_state_new(&ps, conn, t, o);
	for (;;) {
		if ((r = proto_read_line(in, &line)) <= 0)
			break;
		trace_printf("git> %s", line.ptr);
		if (line.len == 0) {
			r = 0;
			break;
		}
		if (strcmp(line.ptr, "capabilities") == 0) {
			fputs("fetch\npush\noption\ncheck-connectivity\n\n",
			    out);
		} else if ((arg = skip_prefix(line.ptr, "option ")) != NULL) {
			fprintf(out, "%s\n", handle_option(o, arg));
		} else if (strcmp(line.ptr, "list") == 0) {
			if ((r = do_list(out, t, conn)) != 0)
				break;
		} else if (strcmp(line.ptr, "list for-push") == 0) {
			if ((r = do_list_for_push(out, ps, conn)) != 0)
				break;
		} else if (skip_prefix(line.ptr, "fetch ") != NULL) {
			if ((r = do_fetch(in, out, &line, t, o)) != 0)
				break;
		} else if (skip_prefix(line.ptr, "push ") != NULL) {
			if ((r = do_push(in, out, &line, ps)) != 0)
				break;
		} else {
			r = err_set(BBS_E_PROTOCOL, "unknown command '%.64s' "
			    "from git", line.ptr);
			break;
		}
		fflush(out);
	}
	fflush(out);
	push_state_free(ps);
	buf_release(&line);
	return r;
}
