/*
 * store-credhelper.c - bbs.tokenStore=credential-helper: grants kept by
 * the user's own credential.helper, through `git credential`.
 *
 * Each grant is one credential (protocol "bbs", host = a hash of the
 * server and client, path "grant", username = the account) whose password
 * is the grant as compact JSON, encoded as the file store encodes it
 * (store_grant_encode); an index credential (path "index") lists the
 * accounts, since helpers cannot enumerate.  Secrets reach `git
 * credential` on its stdin only.  The per-grant lock stays a file lock in
 * the state directory, so refresh is serialised as with the file store.
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
#define CRED_ERR_LINE 1024

/*
 * What `git credential` says on stderr ("could not read Password ...:
 * terminal prompts disabled" when a lookup finds nothing) is for the
 * trace, not for the user: the child gets a temporary file as its stderr
 * (ours is swapped for it while the child is started), and the file goes
 * to the trace when the child is done.  NULL: the child keeps our stderr.
 */
static FILE *
child_stderr_begin(int *saved)
{
	FILE *f;

	*saved = -1;
	if ((f = tmpfile()) == NULL) {
		trace_printf("credential: no temporary file for the stderr of "
		    "git credential: %s", strerror(errno));
		return NULL;
	}
	/* neither the file nor our saved stderr may leak into the child */
	if (fcntl(fileno(f), F_SETFD, FD_CLOEXEC) < 0 ||
	    (*saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    dup2(fileno(f), STDERR_FILENO) < 0) {
		trace_printf("credential: cannot redirect the stderr of git "
		    "credential: %s", strerror(errno));
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		fclose(f);
		return NULL;
	}
	return f;
}

/* Give our stderr back (right after the child started). */
static void
child_stderr_restore(int saved)
{
	if (saved < 0)
		return;
	if (dup2(saved, STDERR_FILENO) < 0)
		trace_printf("credential: cannot restore stderr: %s",
		    strerror(errno));
	close(saved);
}

/* The child's stderr, line by line, to the trace (escaped). */
static void
child_stderr_trace(FILE *f)
{
	char line[CRED_ERR_LINE];
	int n = 0;

	if (f == NULL)
		return;
	rewind(f);
	while (n++ < 64 && fgets(line, sizeof(line), f) != NULL)
		trace_header("git credential: ", line, strlen(line));
	fclose(f);
}

static void
key_host(const char *key, char out[33])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
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
	struct child c;
	char chunk[4096];
	ssize_t n;
	int status, r, saved;
	FILE *errf;

	if (found != NULL)
		*found = 0;
	/* never let a helper lookup prompt anyone */
	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	unsetenv("GIT_ASKPASS");
	unsetenv("SSH_ASKPASS");
	errf = child_stderr_begin(&saved);
	r = child_start(&c, argv, 1, out != NULL, -1, -1);
	child_stderr_restore(saved);
	if (r != 0) {
		child_stderr_trace(errf);
		return r;
	}
	if (write_fd_all(c.in, in->ptr, in->len) != 0) {
		child_kill(&c);
		child_stderr_trace(errf);
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
			child_stderr_trace(errf);
			return r;
		}
	}
	secret_wipe(chunk, sizeof(chunk));
	status = child_finish(&c);
	child_stderr_trace(errf);
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

/* The password line of a fill answer (caller frees), or NULL. */
static char *
answer_password(struct buf *out)
{
	char *p = out->ptr, *end;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '\n');
		if (strncmp(p, "password=", 9) == 0)
			return xstrndup(p + 9, end ? (size_t)(end - p - 9) :
			    strlen(p + 9));
		p = end ? end + 1 : NULL;
	}
	return NULL;
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
		*out = answer_password(&ans);
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

	buf_init_secret(&in, 256 * 1024);
	if ((r = request(&in, host, path, user, password)) == 0)
		r = credential_run(action, &in, NULL, NULL);
	buf_release(&in);
	return r;
}

int
credstore_load(struct store *st, const char *key)
{
	char host[33], *index = NULL, *blob = NULL, *acct, *save = NULL;
	struct store_entry e;
	int r;

	key_host(key, host);
	if ((r = cred_get(host, "index", "git-remote-bbs", &index)) != 0 ||
	    index == NULL)
		return r;
	for (acct = strtok_r(index, " ", &save); acct != NULL;
	    acct = strtok_r(NULL, " ", &save)) {
		if ((r = cred_get(host, "grant", acct, &blob)) != 0)
			break;
		if (blob == NULL)
			continue;
		memset(&e, 0, sizeof(e));
		if (store_grant_decode(blob, &e) == 0)
			store_put(st, key, acct, e.provider, &e.tok);
		else
			err_clear();	/* a damaged entry is skipped */
		free(e.provider);
		oauth_token_release(&e.tok);
		secret_free(blob);
		blob = NULL;
	}
	free(index);
	return r;
}

int
credstore_save(struct store *st, const char *key, const char *old_index)
{
	char host[33], *blob, *copy, *acct, *save = NULL;
	struct buf index;
	size_t i;
	int r = 0;

	key_host(key, host);
	buf_init(&index, 64 * 1024);
	for (i = 0; i < st->nr && r == 0; i++) {
		if (strcmp(st->e[i].key, key) != 0)
			continue;
		if (strchr(st->e[i].account, ' ') != NULL)
			continue;
		if ((blob = store_grant_encode(&st->e[i])) == NULL)
			return err_set(BBS_E_ERROR, "cannot encode a grant");
		r = cred_put("approve", host, "grant", st->e[i].account, blob);
		secret_free(blob);
		buf_addf(&index, "%s%s", index.len ? " " : "",
		    st->e[i].account);
	}
	/* forget the grants of accounts no longer present */
	if (r == 0 && old_index != NULL) {
		copy = xstrdup(old_index);
		for (acct = strtok_r(copy, " ", &save); acct != NULL && r == 0;
		    acct = strtok_r(NULL, " ", &save))
			if (store_find(st, key, acct, NULL) == NULL)
				r = cred_put("reject", host, "grant", acct,
				    NULL);
		free(copy);
	}
	if (r == 0)
		r = index.len > 0 ? cred_put("approve", host, "index",
		    "git-remote-bbs", index.ptr) : cred_put("reject", host,
		    "index", "git-remote-bbs", NULL);
	buf_release(&index);
	return r;
}

char *
credstore_index(const char *key)
{
	char host[33], *index = NULL;

	key_host(key, host);
	if (cred_get(host, "index", "git-remote-bbs", &index) != 0)
		err_clear();
	return index;
}
