/*
 * store-file.c - the token store: one JSON file per user.
 *
 * $XDG_STATE_HOME/git-remote-bbs/tokens.json, mode 0600 in a 0700
 * directory, replaced by write-to-temporary, fsync, rename and a sync of
 * the directory: a crash at any instant leaves the old or the new file.
 * A file or directory that others can read, or that someone else owns, is
 * refused.  Refreshes are serialised per grant with flock(2) on a lock
 * file, which the kernel releases if the holder dies, however it dies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "oauth.h"

#define STORE_MAX ((size_t)4 * 1024 * 1024)

/* Create `dir` (and parents) as 0700 if missing; check it is private. */
static int
store_mkdir(const char *dir)
{
	struct stat st;
	char *tmp = xstrdup(dir), *p;

	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
			free(tmp);
			return err_set(BBS_E_IO, "cannot create '%s': %s", dir,
			    strerror(errno));
		}
		*p = '/';
	}
	free(tmp);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return err_set(BBS_E_IO, "cannot create '%s': %s", dir,
		    strerror(errno));
	if (stat(dir, &st) != 0)
		return err_set(BBS_E_IO, "cannot read '%s': %s", dir,
		    strerror(errno));
	if (st.st_uid != geteuid())
		return err_set(BBS_E_IO, "the token directory '%s' belongs to "
		    "another user", dir);
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return err_set(BBS_E_IO, "cannot make '%s' private: %s", dir,
		    strerror(errno));
	return 0;
}

void
store_release(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nr; i++) {
		free(s->e[i].key);
		free(s->e[i].account);
		free(s->e[i].provider);
		oauth_token_release(&s->e[i].tok);
	}
	free(s->e);
	free(s->dir);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* Fill the grant fields of `e` (not key and account) from object `g`. */
static void
grant_from_json(json_t *g, struct store_entry *e)
{
	e->provider = jstr(g, "provider");
	e->tok.access_token = jstr(g, "access_token");
	e->tok.refresh_token = jstr(g, "refresh_token");
	e->tok.token_type = jstr(g, "token_type");
	e->tok.scope = jstr(g, "scope");
	e->tok.redirect_uri = jstr(g, "redirect_uri");
	if (json_is_integer(json_object_get(g, "expires_at")))
		e->tok.expires_at = json_integer_value(json_object_get(g,
		    "expires_at"));
	if (json_is_integer(json_object_get(g, "lifetime")))
		e->tok.lifetime = json_integer_value(json_object_get(g,
		    "lifetime"));
	e->tok.grant = jstr(g, "grant");
}

static int
store_parse(struct store *s, const char *data, size_t len)
{
	json_t *root, *grants, *g;
	json_error_t je;
	size_t i;

	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root) ||
	    !json_is_array(grants = json_object_get(root, "grants"))) {
		json_decref(root);
		return err_set(BBS_E_IO, "the token store '%s' is damaged; "
		    "move it away and sign in again", s->path);
	}
	json_array_foreach(grants, i, g) {
		struct store_entry *e;

		if (!json_is_object(g) || !json_is_string(json_object_get(g,
		    "key")) || !json_is_string(json_object_get(g,
		    "access_token")))
			continue;
		s->e = xrealloc(s->e, (s->nr + 1) * sizeof(*s->e));
		e = &s->e[s->nr++];
		memset(e, 0, sizeof(*e));
		e->key = jstr(g, "key");
		e->account = jstr(g, "account");
		grant_from_json(g, e);
		if (e->account == NULL)
			e->account = xstrdup("default");
	}
	json_decref(root);
	return 0;
}

int
store_open(struct store *s, const char *dir)
{
	struct stat st;
	struct buf data;
	char chunk[8192];
	ssize_t n;
	int fd, r;

	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir);
	s->path = xasprintf("%s/tokens.json", dir);
	if ((r = store_mkdir(dir)) != 0)
		return r;
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(BBS_E_IO, "cannot open the token store '%s': %s",
		    s->path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(BBS_E_IO, "the token store '%s' is not a file",
		    s->path);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		err_set(BBS_E_IO, "the token store '%s' is readable by others "
		    "or owned by someone else; refusing to use it", s->path);
		err_hint("chmod 600 '%s', then consider signing in again",
		    s->path);
		return BBS_E_IO;
	}
	buf_init_secret(&data, STORE_MAX);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_set(BBS_E_IO, "cannot read '%s': %s", s->path,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((r = buf_add(&data, chunk, (size_t)n)) != 0)
			break;
	}
	secret_wipe(chunk, sizeof(chunk));
	close(fd);
	if (r == 0 && data.len > 0)
		r = store_parse(s, data.ptr, data.len);
	buf_release(&data);
	return r;
}

static json_t *
jset(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
	return o;
}

/* The grant fields of `e` (not key and account) as a new object. */
static json_t *
grant_to_json(const struct store_entry *e)
{
	json_t *g = json_object();

	jset(g, "provider", e->provider);
	jset(g, "access_token", e->tok.access_token);
	jset(g, "refresh_token", e->tok.refresh_token);
	jset(g, "token_type", e->tok.token_type);
	jset(g, "scope", e->tok.scope);
	jset(g, "redirect_uri", e->tok.redirect_uri);
	json_object_set_new(g, "expires_at", json_integer(e->tok.expires_at));
	if (e->tok.lifetime > 0)
		json_object_set_new(g, "lifetime",
		    json_integer(e->tok.lifetime));
	jset(g, "grant", e->tok.grant);
	return g;
}

/*
 * `j` as text in a buffer of ours (jansson's allocator is not free()),
 * consuming the reference; NULL if it cannot be encoded.  *len_out gets
 * the length, for wiping.
 */
static char *
json_text(json_t *j, size_t flags, size_t *len_out)
{
	size_t len = json_dumpb(j, NULL, 0, flags);
	char *text = NULL;

	if (len > 0) {
		text = xmalloc(len + 1);
		if (json_dumpb(j, text, len, flags) != len) {
			free(text);
			text = NULL;
			len = 0;
		} else
			text[len] = '\0';
	}
	json_decref(j);
	*len_out = len;
	return text;
}

char *
store_grant_encode(const struct store_entry *e)
{
	size_t len;

	return json_text(grant_to_json(e), JSON_COMPACT, &len);
}

int
store_grant_decode(const char *text, struct store_entry *e)
{
	json_error_t je;
	json_t *g = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (!json_is_object(g) ||
	    !json_is_string(json_object_get(g, "access_token"))) {
		json_decref(g);
		return err_set(BBS_E_PROTOCOL, "a stored grant is damaged");
	}
	grant_from_json(g, e);
	json_decref(g);
	return 0;
}

int
store_save(struct store *s)
{
	json_t *root = json_object(), *grants = json_array(), *g;
	char *text = NULL, *tmp = NULL;
	size_t i, len;
	int fd = -1, dfd, r = 0;

	for (i = 0; i < s->nr; i++) {
		g = grant_to_json(&s->e[i]);
		jset(g, "key", s->e[i].key);
		jset(g, "account", s->e[i].account);
		json_array_append_new(grants, g);
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "grants", grants);
	text = json_text(root, JSON_INDENT(1) | JSON_SORT_KEYS, &len);
	if (text == NULL)
		return err_set(BBS_E_ERROR, "cannot encode the token store");

	tmp = xasprintf("%s/.tokens.json.XXXXXX", s->dir);
	if ((fd = mkstemp(tmp)) < 0) {
		r = err_set(BBS_E_IO, "cannot write in '%s': %s", s->dir,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_fd_all(fd, text, len) != 0 ||
	    fsync(fd) != 0) {
		r = err_set(BBS_E_IO, "cannot write the token store: %s",
		    strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = err_set(BBS_E_IO, "cannot write the token store: %s",
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, s->path) != 0) {
		r = err_set(BBS_E_IO, "cannot replace '%s': %s", s->path,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable */
	if ((dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	secret_wipe(text, len);
	free(text);
	return r;
}

struct store_entry *
store_find(struct store *s, const char *key, const char *account,
    size_t *nmatch)
{
	struct store_entry *found = NULL;
	size_t i, n = 0;

	for (i = 0; i < s->nr; i++) {
		if (strcmp(s->e[i].key, key) != 0)
			continue;
		if (account != NULL && strcmp(s->e[i].account, account) != 0)
			continue;
		if (found == NULL)
			found = &s->e[i];
		n++;
	}
	if (nmatch != NULL)
		*nmatch = n;
	return found;
}

void
store_put(struct store *s, const char *key, const char *account,
    const char *provider, struct oauth_token *tok)
{
	struct store_entry *e = store_find(s, key, account, NULL);

	if (e == NULL) {
		s->e = xrealloc(s->e, (s->nr + 1) * sizeof(*s->e));
		e = &s->e[s->nr++];
		memset(e, 0, sizeof(*e));
		e->key = xstrdup(key);
		e->account = xstrdup(account);
	}
	free(e->provider);
	e->provider = provider ? xstrdup(provider) : NULL;
	oauth_token_release(&e->tok);
	e->tok = *tok;
	memset(tok, 0, sizeof(*tok));
}

int
store_remove(struct store *s, const char *key, const char *account)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		if (strcmp(s->e[i].key, key) != 0 ||
		    (account != NULL && strcmp(s->e[i].account, account) != 0))
			continue;
		free(s->e[i].key);
		free(s->e[i].account);
		free(s->e[i].provider);
		oauth_token_release(&s->e[i].tok);
		memmove(&s->e[i], &s->e[i + 1],
		    (s->nr - i - 1) * sizeof(*s->e));
		s->nr--;
		return 1;
	}
	return 0;
}

int
store_lock(const char *dir, const char *key, int timeout_sec, int *fd_out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[17], *path;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	time_t deadline = time(NULL) + timeout_sec;
	size_t i;
	int fd, r;

	*fd_out = -1;
	if ((r = store_mkdir(dir)) != 0)
		return r;
	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	path = xasprintf("%s/lock-%s", dir, hex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (fd < 0)
		return err_set(BBS_E_IO, "cannot create a lock in '%s': %s",
		    dir, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return err_set(BBS_E_IO, "cannot lock the token store: "
			    "%s", strerror(errno));
		}
		if (time(NULL) >= deadline) {
			close(fd);
			return err_set(BBS_E_TIMEOUT, "another git process has "
			    "held the token lock for %d seconds", timeout_sec);
		}
		nanosleep(&ts, NULL);
	}
	*fd_out = fd;
	return 0;
}

void
store_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
