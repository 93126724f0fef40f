/* SPDX-License-Identifier: MIT */
/*
 * store-credhelper.c - bbs.tokenStore=credential-helper: grants kept by
 * the user's own credential.helper, through `git credential`.
 *
 * Each grant is one credential (protocol "bbs", host = a hash of the
 * server and client, path "grant", username = the account) whose password
 * is the grant as compact JSON (store_grant_encode).  Helpers cannot
 * enumerate, so two index credentials list what is stored: path "index"
 * of each host lists its accounts, host "git-remote-bbs" path "keys"
 * lists the keys.  Names in an index are percent-encoded (an account may
 * hold a space), after a mark that says the index is ours.  A grant
 * written is read back: a helper that drops it is an error, not a silent
 * sign-in.
 *
 * What a helper answers is not trusted to be ours: a helper that answers
 * every request (a CI secret for any host) must not become an account
 * name, or a grant.  An answer counts only for the user and host asked
 * for; an index without the mark (as older versions wrote it) is read
 * only when its words are valid names, and a grant only when it is a JSON
 * object.  Secrets reach `git credential` on
 * its stdin only; its stderr goes to the trace.  Locking is the store's
 * (store-file.c, lock.c): this backend only loads and saves.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "helper.h"

#define CRED_OUT_MAX ((size_t)256 * 1024)
#define INDEX_MAX ((size_t)64 * 1024)
#define INDEX_USER "git-remote-bbs"
#define KEYS_HOST "git-remote-bbs"
#define INDEX_MARK "bbs-index-1"
#define INDEX_WORDS_MAX 1024

extern char **environ;

struct cred_store {
	char *key;		/* the one key of this store, or NULL: all */
};

static void
key_host(const char *key, char out[33])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Append `v` percent-encoded: '%', space, controls and DEL. */
static int
name_encode(struct buf *b, const char *v)
{
	const unsigned char *p;
	int r = 0;

	for (p = (const unsigned char *)v; *p != '\0' && r == 0; p++)
		r = (*p <= 0x20 || *p == 0x7f || *p == '%') ?
		    buf_addf(b, "%%%02X", *p) : buf_add(b, p, 1);
	return r;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* `v` decoded (caller frees), or NULL if it is not a valid encoding. */
static char *
name_decode(const char *v)
{
	char *out = xmalloc(strlen(v) + 1), *o = out;
	int hi, lo;

	while (*v != '\0') {
		if (*v != '%') {
			*o++ = *v++;
			continue;
		}
		/* no NUL, and no control byte: names are shown to people */
		if ((hi = hexval(v[1])) < 0 || (lo = hexval(v[2])) < 0 ||
		    hi * 16 + lo < 0x20 || hi * 16 + lo == 0x7f) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		v += 3;
	}
	*o = '\0';
	return out;
}

/* `v` encoded (caller frees); NULL with the error set if it cannot be. */
static char *
name_encoded(const char *v)
{
	struct buf b;
	char *out;

	if (*v == '\0') {
		err_set(BBS_E_INVALID, "an empty name cannot be kept in the "
		    "credential helper store");
		return NULL;
	}
	buf_init(&b, INDEX_MAX);
	out = name_encode(&b, v) == 0 ? xstrdup(b.ptr ? b.ptr : "") : NULL;
	buf_release(&b);
	if (out == NULL)
		err_set(BBS_E_INVALID, "a name too long for the credential "
		    "helper store");
	return out;
}

/* What the child wrote on stderr, to the trace, line by line. */
static void
stderr_to_trace(FILE *f, const char *action)
{
	char line[1024], prefix[64];
	int n = 0;

	if (f == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "git credential %s: ", action);
	rewind(f);
	while (n++ < 64 && fgets(line, sizeof(line), f) != NULL)
		trace_header(prefix, line, strcspn(line, "\r\n"));
	fclose(f);
}

/*
 * Run `git credential <action>` with `in` on stdin; the answer (for fill)
 * lands in `out`.  A fill that finds nothing is not an error: *found = 0.
 */
static int
credential_run(const char *action, struct buf *in, struct buf *out,
    int *found)
{
	const char *argv[] = { "git", "-c", "core.askPass=", "credential",
		action, NULL };
	/* never let a helper lookup prompt anyone */
	static const char *const env[] = { "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS", "SSH_ASKPASS", NULL };
	struct child_opts o;
	struct child c;
	char chunk[4096];
	FILE *errf = tmpfile();
	ssize_t n;
	int status, r;

	if (found != NULL)
		*found = 0;
	/* the child gets it as its stderr only */
	if (errf != NULL && fcntl(fileno(errf), F_SETFD, FD_CLOEXEC) != 0) {
		fclose(errf);
		errf = NULL;
	}
	memset(&o, 0, sizeof(o));
	o.pipe_in = 1;
	o.pipe_out = out != NULL;
	o.stderr_fd = errf != NULL ? fileno(errf) : -1;
	o.env = env;
	if ((r = child_spawn(&c, argv, &o)) != 0) {
		if (errf != NULL)
			fclose(errf);
		return r;
	}
	if (write_fd_all(c.in, in->ptr, in->len) != 0) {
		child_kill(&c);
		stderr_to_trace(errf, action);
		return err_set(BBS_E_IO, "git credential %s failed", action);
	}
	close(c.in);
	c.in = -1;
	while (out != NULL) {
		n = read(c.out, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((r = buf_add(out, chunk, (size_t)n)) != 0) {
			secret_wipe(chunk, sizeof(chunk));
			child_kill(&c);
			stderr_to_trace(errf, action);
			return r;
		}
	}
	secret_wipe(chunk, sizeof(chunk));
	status = child_finish(&c);
	stderr_to_trace(errf, action);
	if (found != NULL)
		*found = status == 0;
	else if (status != 0) {
		r = err_set(BBS_E_IO, "git credential %s failed (exit code "
		    "%d)", action, status);
		err_hint("GIT_TRACE_BBS=1 shows what git credential said");
		return r;
	}
	return 0;
}

/* The value of `key` in a fill answer (caller frees), or NULL. */
static char *
answer_field(const struct buf *out, const char *key)
{
	const char *p = out->ptr, *end;
	size_t n = strlen(key);

	while (p != NULL && *p != '\0') {
		end = strchr(p, '\n');
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return xstrndup(p + n + 1, end ?
			    (size_t)(end - p - n - 1) : strlen(p + n + 1));
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * The password of a fill answer (caller frees), or NULL: only when the
 * answer is for the host and user asked for.  A helper that answers
 * anything with its own user name gave someone else's password.
 */
static char *
answer_password(const struct buf *out, const char *host, const char *user)
{
	char *h = answer_field(out, "host"), *u = answer_field(out, "username");
	int ours = h != NULL && u != NULL && strcmp(h, host) == 0 &&
	    strcmp(u, user) == 0;

	free(h);
	free(u);
	if (!ours) {
		trace_printf("store: the credential helper answered for "
		    "another user or host; taken as nothing stored");
		return NULL;
	}
	return answer_field(out, "password");
}

static int
request(struct buf *b, const char *host, const char *path,
    const char *user, const char *password)
{
	if (strpbrk(user, "\n\r") != NULL ||
	    (password && strpbrk(password, "\n\r") != NULL))
		return err_set(BBS_E_INVALID, "a newline in a credential");
	buf_addf(b, "protocol=bbs\nhost=%s\npath=%s\nusername=%s\n", host,
	    path, user);
	if (password != NULL)
		buf_addf(b, "password=%s\n", password);
	return buf_add(b, "\n", 1);
}

/* fill: the password stored for host/path/user, or NULL. */
static int
cred_get(const char *host, const char *path, const char *user, char **out)
{
	struct buf in, ans;
	int r, found;

	*out = NULL;
	buf_init_secret(&in, 64 * 1024);
	buf_init_secret(&ans, CRED_OUT_MAX);
	if ((r = request(&in, host, path, user, NULL)) == 0 &&
	    (r = credential_run("fill", &in, &ans, &found)) == 0 && found)
		*out = answer_password(&ans, host, user);
	buf_release(&in);
	buf_release(&ans);
	return r;
}

static int
cred_put(const char *action, const char *host, const char *path,
    const char *user, const char *password)
{
	struct buf in;
	int r;

	buf_init_secret(&in, CRED_OUT_MAX);
	if ((r = request(&in, host, path, user, password)) == 0)
		r = credential_run(action, &in, NULL, NULL);
	buf_release(&in);
	return r;
}

/* approve, then read back: a helper that keeps nothing is an error. */
static int
cred_put_checked(const char *host, const char *path, const char *user,
    const char *password, const char *what)
{
	char *back = NULL;
	int r, same;

	if ((r = cred_put("approve", host, path, user, password)) != 0 ||
	    (r = cred_get(host, path, user, &back)) != 0)
		return r;
	same = back != NULL && strcmp(back, password) == 0;
	secret_free(back);
	if (!same) {
		err_set(BBS_E_IO, "the credential helper did not keep %s",
		    what);
		err_hint("check credential.helper, or set bbs.tokenStore to "
		    "file");
		return BBS_E_IO;
	}
	return 0;
}

/*
 * The words of index value `v` (in place), or NULL when it is no index:
 * the words after the mark, or all of an unmarked value, as older
 * versions wrote it.  Not more than INDEX_WORDS_MAX words, no controls.
 */
static char *
index_words(char *v)
{
	size_t n = strlen(INDEX_MARK), words = 0;
	const char *p;

	if (oauth_text_has_control(v))
		return NULL;
	if (strncmp(v, INDEX_MARK, n) == 0 && (v[n] == ' ' || v[n] == '\0'))
		v += n;
	for (p = v; *p != '\0'; p++)
		if (*p != ' ' && (p == v || p[-1] == ' ') &&
		    ++words > INDEX_WORDS_MAX)
			return NULL;
	return v;
}

/* Whether `key` can be a grant's key: "<token endpoint URL> <client>". */
static int
key_plausible(const char *key)
{
	return (strncmp(key, "https://", 8) == 0 ||
	    strncmp(key, "http://", 7) == 0) && strchr(key, ' ') != NULL;
}

/*
 * Load the grants of one key into s.  A grant is filed under the name as
 * its index word spells it; a word that is not a valid encoding is an
 * older version's plain name, taken as it is.
 */
static int
cred_load_key(struct store *s, const char *key)
{
	char host[33], *index = NULL, *blob = NULL, *words, *word, *acct;
	char *save = NULL;
	struct store_entry e;
	int r;

	key_host(key, host);
	if ((r = cred_get(host, "index", INDEX_USER, &index)) != 0 ||
	    index == NULL)
		return r;
	if ((words = index_words(index)) == NULL) {
		trace_printf("store: the credential helper's account list "
		    "is not one; taken as nothing stored");
		free(index);
		return 0;
	}
	for (word = strtok_r(words, " ", &save); word != NULL && r == 0;
	    word = strtok_r(NULL, " ", &save)) {
		if ((r = cred_get(host, "grant", word, &blob)) != 0 ||
		    blob == NULL)
			continue;	/* the helper no longer has it */
		if (blob[0] != '{') {
			/* not a grant: whatever the helper gives anyone */
			trace_printf("store: the credential helper's answer "
			    "for a grant is no grant; ignored");
			secret_free(blob);
			blob = NULL;
			continue;
		}
		if ((acct = name_decode(word)) == NULL)
			acct = xstrdup(word);
		memset(&e, 0, sizeof(e));
		if (store_grant_decode(blob, &e) == 0) {
			store_put(s, key, acct, e.provider, &e.tok);
			free(e.provider);
			secret_free(blob);
			free(acct);
		} else {
			err_clear();
			/* kept as it is: a save does not touch it */
			s->raw = xrealloc(s->raw, (s->raw_nr + 1) *
			    sizeof(*s->raw));
			s->raw[s->raw_nr].key = xstrdup(key);
			s->raw[s->raw_nr].account = acct;
			s->raw[s->raw_nr++].text = blob;
		}
		blob = NULL;
	}
	free(index);
	return r;
}

/*
 * The keys listed in the helper (caller frees *out; *words points into
 * it), or NULL when there is no list.
 */
static int
cred_keys(char **out, char **words)
{
	int r;

	*words = NULL;
	if ((r = cred_get(KEYS_HOST, "keys", INDEX_USER, out)) != 0 ||
	    *out == NULL)
		return r;
	if ((*words = index_words(*out)) == NULL) {
		trace_printf("store: the credential helper's list of keys is "
		    "not one; taken as nothing stored");
		free(*out);
		*out = NULL;
	}
	return 0;
}

/* Index word `word` decoded as a key, or NULL when it cannot be one. */
static char *
key_decode(const char *word)
{
	char *key = name_decode(word);

	if (key != NULL && !key_plausible(key)) {
		free(key);
		key = NULL;
	}
	return key;
}

static int
cred_load(struct store *s)
{
	struct cred_store *c = s->be_data;
	char *keys = NULL, *words, *word, *key, *save = NULL;
	int r;

	if (c->key != NULL)
		return cred_load_key(s, c->key);
	if ((r = cred_keys(&keys, &words)) != 0 || keys == NULL)
		return r;
	for (word = strtok_r(words, " ", &save); word != NULL && r == 0;
	    word = strtok_r(NULL, " ", &save)) {
		if ((key = key_decode(word)) == NULL)
			continue;
		r = cred_load_key(s, key);
		free(key);
	}
	free(keys);
	return r;
}

/* Append `name` encoded to the index `b` unless it is there already. */
static int
index_add(struct buf *b, const char *name)
{
	char *enc = name_encoded(name), *p;
	size_t n;
	int r;

	if (enc == NULL)
		return err_code();
	n = strlen(enc);
	for (p = b->ptr; p != NULL && (p = strstr(p, enc)) != NULL; p += n)
		if ((p == b->ptr || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0')) {
			free(enc);
			return 0;
		}
	r = buf_addf(b, "%s%s", b->len ? " " : "", enc);
	free(enc);
	return r;
}

/* Write index `b` at host/path, after the mark, or forget it when empty. */
static int
index_put(const char *host, const char *path, struct buf *b)
{
	char *v;
	int r;

	if (b->len == 0)
		return cred_put("reject", host, path, INDEX_USER, NULL);
	v = xasprintf("%s %s", INDEX_MARK, b->ptr);
	r = cred_put_checked(host, path, INDEX_USER, v,
	    "the list of stored grants");
	free(v);
	return r;
}

/* The key list, with `key` added (present) or removed. */
static int
cred_save_keys(const char *key, int present)
{
	char *keys = NULL, *words = NULL, *word, *k, *save = NULL;
	struct buf b;
	int r;

	if ((r = cred_keys(&keys, &words)) != 0)
		return r;
	buf_init(&b, INDEX_MAX);
	for (word = words ? strtok_r(words, " ", &save) : NULL;
	    word != NULL && r == 0; word = strtok_r(NULL, " ", &save)) {
		if ((k = key_decode(word)) == NULL)
			continue;
		if (strcmp(k, key) != 0)
			r = index_add(&b, k);
		free(k);
	}
	if (r == 0 && present)
		r = index_add(&b, key);
	if (r == 0)
		r = index_put(KEYS_HOST, "keys", &b);
	buf_release(&b);
	free(keys);
	return r;
}

static int
cred_save(struct store *s, const char *key, const char *account)
{
	struct store_entry *e = store_find(s, key, account, NULL);
	char host[33], *blob, *enc;
	struct buf index;
	size_t i;
	int r;

	key_host(key, host);
	if ((enc = name_encoded(account)) == NULL)
		return err_code();
	if (e != NULL) {
		if ((blob = store_grant_encode(e)) == NULL) {
			free(enc);
			return err_set(BBS_E_ERROR, "cannot encode a grant");
		}
		r = cred_put_checked(host, "grant", enc, blob, "the grant");
		secret_free(blob);
	} else
		r = cred_put("reject", host, "grant", enc, NULL);
	free(enc);
	if (r != 0)
		return r;
	/* the index: every account of this key, the damaged ones too */
	buf_init(&index, INDEX_MAX);
	for (i = 0; i < s->nr && r == 0; i++)
		if (strcmp(s->e[i].key, key) == 0)
			r = index_add(&index, s->e[i].account);
	for (i = 0; i < s->raw_nr && r == 0; i++)
		if (s->raw[i].key != NULL && s->raw[i].account != NULL &&
		    strcmp(s->raw[i].key, key) == 0)
			r = index_add(&index, s->raw[i].account);
	if (r == 0)
		r = index_put(host, "index", &index);
	if (r == 0)
		r = cred_save_keys(key, index.len > 0);
	buf_release(&index);
	return r;
}

static void
credstore_release(struct store *s)
{
	struct cred_store *c = s->be_data;

	if (c == NULL)
		return;
	free(c->key);
	free(c);
	s->be_data = NULL;
}

static const struct store_backend cred_backend = {
	cred_load, cred_save, NULL, credstore_release, 0
};

int
credstore_open(struct store *st, const char *dir, const char *key)
{
	struct cred_store *c = xmalloc(sizeof(*c));

	c->key = key != NULL ? xstrdup(key) : NULL;
	return store_open_backend(st, dir, "credential helper", &cred_backend,
	    c);
}
