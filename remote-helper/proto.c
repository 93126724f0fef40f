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

int
proto_read_line(FILE *in, struct buf *line)
{
	int c;

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
		if (buf_add(line, &(char){ (char)c }, 1) != 0)
			return err_code();
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
	if (strcmp(name, "push-option") == 0) {
		strv_push(&o->push_options, &o->push_options_nr, v);
		return "ok";
	}
	if (strcmp(name, "cas") == 0) {
		strv_push(&o->cas, &o->cas_nr, v);
		return "ok";
	}
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
	size_t nr;
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
	b->a = xrealloc(b->a, (b->nr + 1) * sizeof(*b->a));
	b->b = xrealloc(b->b, (b->nr + 1) * sizeof(*b->b));
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
	for (i = 0; i < b->nr; i++)	/* a clone names HEAD's target twice */
		if (strcmp(b->b[i], sp + 1) == 0)
			return 0;
	batch_add(b, xstrndup(arg, OID_HEX_LEN), xstrdup(sp + 1));
	return 0;
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

/* Quote a status message if it needs it (git unquotes C-style). */
static void
print_status(FILE *out, const struct push_ref *r)
{
	const char *m;

	if (r->error == NULL) {
		fprintf(out, "ok %s\n", r->dst);
		return;
	}
	fprintf(out, "error %s ", r->dst);
	if (strchr(r->error, '"') == NULL && strchr(r->error, '\\') == NULL) {
		fprintf(out, "%s\n", r->error);
		return;
	}
	fputc('"', out);
	for (m = r->error; *m; m++) {
		if (*m == '"' || *m == '\\')
			fputc('\\', out);
		fputc(*m, out);
	}
	fputs("\"\n", out);
}

static int
do_push(FILE *in, FILE *out, struct buf *line, struct push_state *ps)
{
	struct batch b = { 0 };
	struct push_ref *refs = NULL;
	int *force = NULL, r;
	size_t i;

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
	for (i = 0; i < b.nr; i++)
		print_status(out, &refs[i]);
	fprintf(out, "\n");
	fflush(out);
out:
	if (refs != NULL)
		for (i = 0; i < b.nr; i++)
			free(refs[i].error);
	free(refs);
	free(force);
	batch_clear(&b);
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
			if ((r = transport_list(t, out)) != 0)
				break;
			fputs("\n", out);
		} else if (strcmp(line.ptr, "list for-push") == 0) {
			if ((r = push_list(ps, out)) != 0)
				break;
			fputs("\n", out);
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
