/* SPDX-License-Identifier: MIT */
/*
 * store-file.c - the token store: its interface, and the file backend.
 *
 * The interface (oauth.h) is the same for every backend: open, update one
 * entry, forget, reserve, list.  Every read and every read-modify-write
 * happens under the store-wide lock (lock.c) and re-reads the store, so
 * processes working on different grants never undo each other.
 *
 * The file backend: $XDG_STATE_HOME/git-remote-bbs/tokens.json, mode 0600
 * in a 0700 directory, replaced by write-to-temporary, fsync, rename and a
 * sync of the directory: a crash at any instant leaves the old or the new
 * file.  A file or directory that others can read, or that someone else
 * owns, is refused.  Temporary files are .tokens.json.XXXXXX, flock()ed by
 * their writer while it lives; one left complete by a writer that died
 * before its rename is adopted, the others are removed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oauth.h"

#define STORE_MAX ((size_t)4 * 1024 * 1024)
#define STORE_SLACK ((off_t)64 * 1024)
#define LOCK_ALL_TIMEOUT 120
#define TMP_PREFIX ".tokens.json."

int
store_mkdir(const char *dir)
{
	struct stat st;
	int r;

	if ((r = mkdirs(dir, 0700)) != 0)
		return r;
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

/* ---- the interface ---------------------------------------------------- */

static void
entry_clear(struct store_entry *e)
{
	free(e->key);
	free(e->account);
	free(e->provider);
	oauth_token_release(&e->tok);
	memset(e, 0, sizeof(*e));
}

static void
raw_clear(struct store_raw *r)
{
	free(r->key);
	free(r->account);
	secret_free(r->text);
	memset(r, 0, sizeof(*r));
}

/* Drop the grants held in memory (not the backend). */
static void
store_clear(struct store *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		entry_clear(&s->e[i]);
	for (i = 0; i < s->raw_nr; i++)
		raw_clear(&s->raw[i]);
	free(s->e);
	free(s->raw);
	s->e = NULL;
	s->raw = NULL;
	s->nr = s->raw_nr = 0;
	s->generation = 0;
}

void
store_release(struct store *s)
{
	if (s == NULL)
		return;
	store_clear(s);
	if (s->be != NULL && s->be->release != NULL)
		s->be->release(s);
	free(s->dir);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int
store_load_locked(struct store *s)
{
	store_clear(s);
	return s->be->load(s);
}

int
store_open_backend(struct store *s, const char *dir, const char *label,
    const struct store_backend *be, void *data)
{
	int r, lock;

	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir);
	s->path = xstrdup(label);
	s->be = be;
	s->be_data = data;
	if ((r = store_lock_all(dir, LOCK_ALL_TIMEOUT, &lock)) != 0)
		return r;
	r = store_load_locked(s);
	store_unlock(lock);
	return r;
}

/* A damaged grant of (key, account) gives way to a new one of theirs. */
static void
raw_drop(struct store *s, const char *key, const char *account)
{
	size_t i = 0;

	while (i < s->raw_nr) {
		if (s->raw[i].key != NULL && strcmp(s->raw[i].key, key) == 0 &&
		    strcmp(s->raw[i].account ? s->raw[i].account : "default",
		    account) == 0) {
			raw_clear(&s->raw[i]);
			memmove(&s->raw[i], &s->raw[i + 1],
			    (s->raw_nr - i - 1) * sizeof(*s->raw));
			s->raw_nr--;
		} else
			i++;
	}
}

int
store_update(struct store *s, const char *key, const char *account,
    const char *provider, const struct oauth_token *tok)
{
	struct oauth_token copy;
	int r, lock;

	if ((r = store_lock_all(s->dir, LOCK_ALL_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = store_load_locked(s)) == 0) {
		if (tok != NULL) {
			oauth_token_copy(&copy, tok);
			raw_drop(s, key, account);
			store_put(s, key, account, provider, &copy);
		} else
			store_remove(s, key, account);
		r = s->be->save(s, key, account);
	}
	store_unlock(lock);
	return r;
}

/* Under the store-wide lock: the grant (key, from) becomes (key, to). */
static int
store_move_locked(struct store *s, const char *key, const char *from,
    const char *to)
{
	struct store_entry *e = store_find(s, key, from, NULL);
	struct oauth_token tok;
	char *provider;
	int r;

	if (e == NULL)
		return err_set(BBS_E_IO, "the token store lost the grant of "
		    "'%s'", from);
	tok = e->tok;
	memset(&e->tok, 0, sizeof(e->tok));
	provider = xstrdup_or_null(e->provider);
	store_remove(s, key, from);
	raw_drop(s, key, to);
	store_put(s, key, to, provider, &tok);
	free(provider);
	if ((r = s->be->save(s, key, to)) == 0 && !s->be->saves_all)
		r = s->be->save(s, key, from);
	return r;
}

int
store_move(struct store *s, const char *key, const char *from,
    const char *to)
{
	int r, lock;

	if (strcmp(from, to) == 0)
		return 0;
	if ((r = store_lock_all(s->dir, LOCK_ALL_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = store_load_locked(s)) == 0)
		r = store_move_locked(s, key, from, to);
	store_unlock(lock);
	return r;
}

int
store_forget_all(struct store *s, size_t *n)
{
	char *key, *account;
	int r, lock;

	*n = 0;
	if ((r = store_lock_all(s->dir, LOCK_ALL_TIMEOUT, &lock)) != 0)
		return r;
	r = store_load_locked(s);
	while (r == 0 && s->nr > 0) {
		key = xstrdup(s->e[0].key);
		account = xstrdup(s->e[0].account);
		store_remove(s, key, account);
		r = s->be->save(s, key, account);
		free(key);
		free(account);
		if (r == 0)
			(*n)++;
	}
	store_unlock(lock);
	return r;
}

int
store_reserve(struct store *s)
{
	int r, lock;

	if (s->be->reserve == NULL)
		return 0;
	if ((r = store_lock_all(s->dir, LOCK_ALL_TIMEOUT, &lock)) != 0)
		return r;
	r = s->be->reserve(s);
	store_unlock(lock);
	return r;
}

/* Is s->e[i] the first grant of its key and account (not a repeat)? */
static int
first_of_account(const struct store *s, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(s->e[j].key, s->e[i].key) == 0 &&
		    strcmp(s->e[j].account, s->e[i].account) == 0)
			return 0;
	return 1;
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
		/* a hand-edited store may repeat a grant: one account */
		if (nmatch != NULL && first_of_account(s, i))
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

/* Every grant of (key, account): a hand-edited store may repeat one. */
int
store_remove(struct store *s, const char *key, const char *account)
{
	size_t i = 0;
	int removed = 0;

	while (i < s->nr) {
		if (strcmp(s->e[i].key, key) != 0 ||
		    (account != NULL && strcmp(s->e[i].account, account) != 0)) {
			i++;
			continue;
		}
		entry_clear(&s->e[i]);
		memmove(&s->e[i], &s->e[i + 1],
		    (s->nr - i - 1) * sizeof(*s->e));
		s->nr--;
		removed = 1;
	}
	return removed;
}

/* ---- the file backend ------------------------------------------------- */

struct file_store {
	int res_fd;		/* the reserved temporary file, flock()ed */
	char *res_path;
	off_t res_size;
};

static void
file_unreserve(struct file_store *f, int unlink_it)
{
	if (f->res_fd >= 0)
		close(f->res_fd);
	if (f->res_path != NULL && unlink_it)
		unlink(f->res_path);
	free(f->res_path);
	f->res_fd = -1;
	f->res_path = NULL;
	f->res_size = 0;
}

static void
file_release(struct store *s)
{
	struct file_store *f = s->be_data;

	if (f == NULL)
		return;
	file_unreserve(f, 1);
	free(f);
	s->be_data = NULL;
}

/* Refuse a store file that is not ours alone. */
static int
file_check(int fd, const char *path, struct stat *st)
{
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
		return err_set(BBS_E_IO, "the token store '%s' is not a file",
		    path);
	if (st->st_uid != geteuid() || (st->st_mode & 077) != 0) {
		err_set(BBS_E_IO, "the token store '%s' is readable by others "
		    "or owned by someone else; refusing to use it", path);
		err_hint("chmod 600 '%s', then consider signing in again",
		    path);
		return BBS_E_IO;
	}
	return 0;
}

/* Read all of `fd` into the secret buffer `data` (at most STORE_MAX). */
static int
read_all(int fd, const char *path, struct buf *data)
{
	char chunk[8192];
	ssize_t n;
	int r = 0;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_set(BBS_E_IO, "cannot read '%s': %s", path,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((r = buf_add(data, chunk, (size_t)n)) != 0)
			break;
	}
	secret_wipe(chunk, sizeof(chunk));
	return r;
}

/*
 * 1 if `fd` holds a complete store file: every byte decodes, but for NUL
 * bytes at the end (the rest of a reservation, when its writer died
 * before cutting the file to its length).  *len: the length that does;
 * *gen: the file's generation (0: none).
 */
static int
file_complete(int fd, const char *path, size_t *len, long long *gen)
{
	struct store scratch;
	struct buf data;
	int ok;

	memset(&scratch, 0, sizeof(scratch));
	buf_init_secret(&data, STORE_MAX);
	ok = read_all(fd, path, &data) == 0;
	*len = data.len;
	while (ok && *len > 0 && data.ptr[*len - 1] == '\0')
		(*len)--;
	ok = ok && *len > 0 && store_decode(&scratch, data.ptr, *len) == 0;
	*gen = ok ? scratch.generation : 0;
	store_clear(&scratch);
	buf_release(&data);
	err_clear();
	return ok;
}

/*
 * Make the complete file `path` (*len bytes of it) durable before it is
 * renamed over the store: cut off a reservation's tail, fsync.
 */
static int
file_settle(const char *path, size_t len)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int ok;

	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    ((off_t)len == st.st_size || ftruncate(fd, (off_t)len) == 0) &&
	    fsync(fd) == 0;
	close(fd);
	return ok;
}

static int
ts_newer_or_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* A file's place in the order of saves: its generation, then its mtime. */
struct file_age {
	long long gen;		/* 0: written by a version without one */
	struct timespec mtime;
};

/*
 * Whether `a` was written after `b`: by generation when both have one, so
 * a clock stepped back cannot make a complete file look stale; by
 * modification time otherwise, or between two of one generation (writers
 * whose saves failed, each after the same store).
 */
static int
age_after(const struct file_age *a, const struct file_age *b)
{
	if (a->gen > 0 && b->gen > 0 && a->gen != b->gen)
		return a->gen > b->gen;
	return ts_newer_or_same(&a->mtime, &b->mtime);
}

/*
 * Whether temporary file `a` was written after the store `st`, which it
 * then replaces: a generation the same as the store's is one that lost.
 */
static int
after_store(const struct file_age *a, const struct file_age *st)
{
	if (a->gen > 0 && st->gen > 0)
		return a->gen > st->gen;
	return ts_newer_or_same(&a->mtime, &st->mtime);
}

/* The age of the store file; 0 if there is none. */
static int
store_age(const struct store *s, struct file_age *age)
{
	struct stat st;
	size_t len;
	int fd;

	memset(age, 0, sizeof(*age));
	if (lstat(s->path, &st) != 0)
		return 0;
	age->mtime = st.st_mtim;
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    !file_complete(fd, s->path, &len, &age->gen))
			age->gen = 0;
		close(fd);
	}
	return 1;
}

/*
 * Make a rename in `dir` durable: 0, or the errno of the failure.  A file
 * system that cannot sync a directory (EINVAL) has nothing more to do.
 */
static int
fsync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = 0;

	if (dfd < 0)
		return errno;
	if (store_testfail("fsync-dir"))
		e = EIO;
	else if (fsync(dfd) != 0 && errno != EINVAL)
		e = errno;
	close(dfd);
	return e;
}

/*
 * Under the store-wide lock: adopt the newest complete temporary file
 * written after the store (a writer died, or failed, between write and
 * rename), remove the other unlocked ones.  A locked one is a live
 * writer's and left alone; so is anything not ours.  Each save numbers
 * the file one past the store it read (its generation), which orders
 * them whatever the clock did.
 */
static void
file_adopt(struct store *s)
{
	struct stat st;
	struct file_age age, best_age, store_a;
	struct dirent *d;
	char *p, *best = NULL;
	size_t len, best_len = 0;
	DIR *dir;
	int fd, e, complete, have_store = -1;

	if ((dir = opendir(s->dir)) == NULL)
		return;
	memset(&best_age, 0, sizeof(best_age));
	memset(&store_a, 0, sizeof(store_a));
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		p = xasprintf("%s/%s", s->dir, d->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() ||
		    flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (fd >= 0)
				close(fd);
			free(p);
			continue;
		}
		age.mtime = st.st_mtim;
		complete = file_complete(fd, p, &len, &age.gen);
		if (complete && have_store < 0)
			have_store = store_age(s, &store_a);	/* read once */
		if (complete && (!have_store || after_store(&age, &store_a)) &&
		    (best == NULL || age_after(&age, &best_age))) {
			if (best != NULL) {
				unlink(best);
				free(best);
			}
			best = p;
			best_age = age;
			best_len = len;
		} else {
			trace_printf("store: removing the stale '%s'", p);
			unlink(p);
			free(p);
		}
		close(fd);
	}
	closedir(dir);
	if (best != NULL) {
		if (!file_settle(best, best_len))
			trace_printf("store: cannot make '%s' durable: %s", best,
			    strerror(errno));
		else if (rename(best, s->path) == 0) {
			trace_printf("store: adopted '%s', written completely "
			    "by a process that did not rename it", best);
			if ((e = fsync_dir(s->dir)) != 0)
				trace_printf("store: cannot make the adoption "
				    "durable: %s", strerror(e));
		}
		free(best);
	}
}

static int
file_load(struct store *s)
{
	struct stat st;
	struct buf data;
	int fd, r;

	file_adopt(s);
	/* not blocked by a FIFO put there: file_check() refuses it */
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(BBS_E_IO, "cannot open the token store '%s': %s",
		    s->path, strerror(errno));
	}
	if ((r = file_check(fd, s->path, &st)) != 0) {
		close(fd);
		return r;
	}
	buf_init_secret(&data, STORE_MAX);
	r = read_all(fd, s->path, &data);
	close(fd);
	if (r == 0 && data.len > 0)
		r = store_decode(s, data.ptr, data.len);
	buf_release(&data);
	return r;
}

/* A new locked temporary file in the store's directory. */
static int
file_mktemp(struct store *s, char **path_out, int *fd_out)
{
	char *tmp = xasprintf("%s/" TMP_PREFIX "XXXXXX", s->dir);
	int fd, r;

	*fd_out = -1;
	*path_out = NULL;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, 0600) != 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0) {
		r = err_set(BBS_E_IO, "cannot write in '%s': %s", s->dir,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return r;
	}
	*fd_out = fd;
	*path_out = tmp;
	return 0;
}

/*
 * A file-size limit is an error to report (EFBIG), not a signal that
 * kills the process while it holds a rotated token.
 */
static void
file_no_sigxfsz(void)
{
	signal(SIGXFSZ, SIG_IGN);
}

/*
 * Give `fd` `size` bytes of disk: posix_fallocate, or, where the file
 * system cannot (EOPNOTSUPP, as musl reports on NFS), zeros written
 * out.  0 or an errno value.
 */
static int
reserve_room(int fd, off_t size)
{
	static const char zeros[4096];
	off_t off = 0;
	ssize_t n;
	int r;

	if ((r = posix_fallocate(fd, 0, size)) != EOPNOTSUPP && r != EINVAL)
		return r;
	while (off < size) {
		n = pwrite(fd, zeros, size - off < (off_t)sizeof(zeros) ?
		    (size_t)(size - off) : sizeof(zeros), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		off += n;
	}
	return fsync(fd) == 0 ? 0 : errno;
}

static int
file_reserve(struct store *s)
{
	struct file_store *f = s->be_data;
	struct stat st;
	off_t size = STORE_SLACK;
	int r;

	if (f->res_fd >= 0)
		return 0;
	file_no_sigxfsz();
	if (stat(s->path, &st) == 0)
		size += 2 * st.st_size;
	if ((r = file_mktemp(s, &f->res_path, &f->res_fd)) != 0)
		return r;
	if ((r = reserve_room(f->res_fd, size)) != 0) {
		file_unreserve(f, 1);
		err_set(BBS_E_IO, "cannot reserve room for the token store in "
		    "'%s': %s", s->dir, strerror(r));
		err_hint("the stored grant is unchanged and still good; make "
		    "room and try again");
		return BBS_E_IO;
	}
	f->res_size = size;
	return 0;
}

static int
pwrite_all(int fd, const char *p, size_t len)
{
	off_t off = 0;
	ssize_t n;

	while ((size_t)off < len) {
		n = pwrite(fd, p + off, len - (size_t)off, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

static int
file_save(struct store *s, const char *key, const char *account)
{
	struct file_store *f = s->be_data;
	char *text, *tmp = NULL;
	size_t len;
	int fd = -1, e, r = 0, reserved = 0, complete = 0, written;

	(void)key;
	(void)account;
	file_no_sigxfsz();
	if (s->generation < LLONG_MAX)	/* one past the file read */
		s->generation++;
	if ((text = store_encode(s, &len)) == NULL)
		return err_code();	/* store_encode() said why */
	if (f->res_fd >= 0 && (off_t)len <= f->res_size) {
		fd = f->res_fd;
		tmp = f->res_path;
		reserved = 1;
	} else if ((r = file_mktemp(s, &tmp, &fd)) != 0)
		goto out;
	written = pwrite_all(fd, text, len) == 0;
	if (written)
		store_testpoint("before-truncate");
	if (!written || ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0) {
		r = err_set(BBS_E_IO, "cannot write the token store in '%s': "
		    "%s", s->dir, strerror(errno));
		goto out;
	}
	complete = 1;
	store_testpoint("before-rename");
	if (rename(tmp, s->path) != 0) {
		r = err_set(BBS_E_IO, "cannot replace '%s': %s", s->path,
		    strerror(errno));
		goto out;
	}
	store_testpoint("after-rename");
	if ((e = fsync_dir(s->dir)) != 0)
		r = err_set(BBS_E_IO, "cannot make the new token store in "
		    "'%s' durable: %s", s->dir, strerror(e));
out:
	if (reserved) {
		if (r == 0 || complete) {
			/* renamed, or left complete for the next open */
			close(f->res_fd);
			f->res_fd = -1;
			free(f->res_path);
			f->res_path = NULL;
			f->res_size = 0;
		}
	} else if (fd >= 0) {
		if (r != 0 && !complete)
			unlink(tmp);
		close(fd);
		free(tmp);
	}
	secret_wipe(text, len);
	free(text);
	return r;
}

static const struct store_backend file_backend = {
	file_load, file_save, file_reserve, file_release, 1
};

int
store_open(struct store *s, const char *dir)
{
	struct file_store *f;
	char *path = xasprintf("%s/tokens.json", dir);
	int r;

	if ((r = store_mkdir(dir)) != 0) {
		memset(s, 0, sizeof(*s));
		s->dir = xstrdup(dir);
		s->path = path;
		return r;
	}
	f = xmalloc(sizeof(*f));
	f->res_fd = -1;
	f->res_path = NULL;
	f->res_size = 0;
	r = store_open_backend(s, dir, path, &file_backend, f);
	free(path);
	return r;
}
