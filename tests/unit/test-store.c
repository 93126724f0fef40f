/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the token store: the codec (damaged grants kept as read,
 * tokens outside b64token refused, a repeated grant removed whole),
 * read-modify-write of one entry, the move of a grant to another account,
 * and the adoption of temporary files left by a writer that died, in the
 * order of their generations.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oauth/oauth.h"

static const char damaged[] =
    "{\"version\":1,\"grants\":["
    "{\"key\":\"k1 c\",\"account\":\"a\",\"access_token\":\"good\"},"
    "{\"key\":\"k2 c\",\"account\":\"b\",\"access_token\":\"bad\\r\\nX: 1\"},"
    "{\"key\":\"k3 c\",\"access_token\":\"ok\",\"expires_at\":\"soon\"},"
    "[1,2]]}";

static const char repeated[] =
    "{\"version\":1,\"grants\":["
    "{\"key\":\"k1 c\",\"account\":\"a\",\"access_token\":\"one\"},"
    "{\"key\":\"k1 c\",\"account\":\"b\",\"access_token\":\"two\"},"
    "{\"key\":\"k1 c\",\"account\":\"a\",\"access_token\":\"one\"}]}";

static void
test_codec(void **state)
{
	struct store s, s2;
	struct store_entry e;
	struct oauth_token t;
	char *text, *text2;
	size_t len, len2, n;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_decode(&s, damaged, strlen(damaged)), 0);
	assert_int_equal(s.nr, 1);
	assert_string_equal(s.e[0].account, "a");
	assert_int_equal(s.raw_nr, 3);
	assert_string_equal(s.raw[0].key, "k2 c");
	assert_string_equal(s.raw[0].account, "b");
	assert_null(s.raw[2].key);
	text = store_encode(&s, &len);
	assert_non_null(text);
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(store_decode(&s2, text, len), 0);
	assert_int_equal(s2.nr, 1);
	assert_int_equal(s2.raw_nr, 3);
	text2 = store_encode(&s2, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text);
	free(text2);
	store_release(&s);
	store_release(&s2);

	/* a name that is not UTF-8 fails the encoding, never dropped */
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	t.access_token = xstrdup("at");
	store_put(&s, "k1 c", "al\xe9", NULL, &t);
	assert_null(store_encode(&s, &len));
	assert_int_equal(err_code(), BBS_E_INVALID);
	err_clear();
	store_release(&s);

	/* a grant repeated by hand goes whole: nothing of it is left */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_decode(&s, repeated, strlen(repeated)), 0);
	assert_int_equal(s.nr, 3);
	/* ... and counts as one account */
	assert_non_null(store_find(&s, "k1 c", NULL, &n));
	assert_int_equal(n, 2);
	assert_ptr_equal(store_find(&s, "k1 c", "a", &n), &s.e[0]);
	assert_int_equal(n, 1);
	assert_int_equal(store_remove(&s, "k1 c", "a"), 1);
	assert_int_equal(s.nr, 1);
	assert_null(store_find(&s, "k1 c", "a", NULL));
	assert_non_null(store_find(&s, "k1 c", "b", NULL));
	assert_int_equal(store_remove(&s, "k1 c", "a"), 0);
	store_release(&s);

	/* not a store at all */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_decode(&s, "{\"grants\":[]}", 13), BBS_E_IO);
	err_clear();
	store_release(&s);

	/* the grant codec of the credential-helper store */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_grant_decode("{\"access_token\":\"a=b\"}", &e),
	    BBS_E_PROTOCOL);
	err_clear();
	assert_int_equal(store_grant_decode("{\"access_token\":\"ab==\","
	    "\"refresh_token\":\"r/+.~_-\",\"expires_at\":7}", &e), 0);
	assert_string_equal(e.tok.refresh_token, "r/+.~_-");
	assert_int_equal(e.tok.expires_at, 7);
	oauth_token_release(&e.tok);
	free(e.provider);
}

static char *
write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_fd_all(fd, text, strlen(text)), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* A new temporary directory in `dir` (a mkdtemp template): its store. */
static char *
store_dir_new(char *dir)
{
	assert_non_null(mkdtemp(dir));
	return xasprintf("%s/git-remote-bbs", dir);
}

/* Remove `dir` and all in it; free `sdir`. */
static void
store_dir_remove(char *dir, char *sdir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(sdir);
}

static void
test_update_and_adopt(void **state)
{
	char dir[] = "/tmp/bbs-store-XXXXXX", *sdir, *p;
	struct oauth_token t;
	struct store s, s2;
	struct timespec later[2];
	int fd;

	(void)state;
	sdir = store_dir_new(dir);
	assert_int_equal(store_open(&s, sdir), 0);
	assert_int_equal(store_open(&s2, sdir), 0);
	memset(&t, 0, sizeof(t));
	t.access_token = xstrdup("at1");
	t.refresh_token = xstrdup("rt1");
	/* two holders, two entries: neither undoes the other */
	assert_int_equal(store_update(&s, "k1 c", "a", "generic", &t), 0);
	assert_int_equal(store_update(&s2, "k2 c", "b", "generic", &t), 0);
	assert_int_equal(s2.nr, 2);
	assert_int_equal(store_update(&s, "k1 c", "a", NULL, NULL), 0);
	assert_int_equal(s.nr, 1);
	assert_string_equal(s.e[0].key, "k2 c");
	store_release(&s);
	store_release(&s2);

	/* a complete temporary file newer than the store is adopted */
	p = write_file(sdir, ".tokens.json.AAAAAA", "{\"version\":1,"
	    "\"grants\":[{\"key\":\"k9 c\",\"account\":\"z\","
	    "\"access_token\":\"new\"}]}");
	clock_gettime(CLOCK_REALTIME, &later[0]);
	later[0].tv_sec += 10;
	later[1] = later[0];
	assert_int_equal(utimensat(AT_FDCWD, p, later, 0), 0);
	free(p);
	/* an incomplete one is removed; a locked one is a live writer's */
	p = write_file(sdir, ".tokens.json.BBBBBB", "{\"version\":1,\"gra");
	free(p);
	p = write_file(sdir, ".tokens.json.CCCCCC", "");
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(store_open(&s, sdir), 0);
	assert_int_equal(s.nr, 1);
	assert_string_equal(s.e[0].tok.access_token, "new");
	store_release(&s);
	free(p);
	p = xasprintf("%s/.tokens.json.AAAAAA", sdir);
	assert_int_not_equal(access(p, F_OK), 0);
	free(p);
	p = xasprintf("%s/.tokens.json.BBBBBB", sdir);
	assert_int_not_equal(access(p, F_OK), 0);
	free(p);
	p = xasprintf("%s/.tokens.json.CCCCCC", sdir);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	close(fd);

	oauth_token_release(&t);
	store_dir_remove(dir, sdir);
}

/* store_move: a grant changes account in one save; the old one gives way */
/* A store file of generation `gen` holding one grant of `account`. */
static char *
store_text(long long gen, const char *account)
{
	return xasprintf("{\"version\":1,\"generation\":%lld,\"grants\":["
	    "{\"key\":\"k1 c\",\"account\":\"%s\","
	    "\"access_token\":\"at\"}]}", gen, account);
}

/* Set the modification time of `path` `delta` seconds from now. */
static void
touch_by(const char *path, long delta)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += delta;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * Temporary files are ordered by generation, not by the clock: one saved
 * after the store is adopted even with an older mtime (the clock stepped
 * back), and one of the store's generation or before is stale even with a
 * newer one.
 */
static void
test_adopt_by_generation(void **state)
{
	char dir[] = "/tmp/bbs-store-XXXXXX", *sdir, *text, *p, *q;
	struct oauth_token t;
	struct store s;

	(void)state;
	sdir = store_dir_new(dir);
	assert_int_equal(store_open(&s, sdir), 0);
	memset(&t, 0, sizeof(t));
	t.access_token = xstrdup("at");
	assert_int_equal(store_update(&s, "k1 c", "old", "generic", &t), 0);
	assert_int_equal(s.generation, 1);
	assert_int_equal(store_update(&s, "k1 c", "old", "generic", &t), 0);
	assert_int_equal(s.generation, 2);
	store_release(&s);

	text = store_text(3, "rotated");
	p = write_file(sdir, ".tokens.json.AAAAAA", text);
	free(text);
	touch_by(p, -3600);
	text = store_text(2, "lost");
	q = write_file(sdir, ".tokens.json.BBBBBB", text);
	free(text);
	touch_by(q, 3600);
	assert_int_equal(store_open(&s, sdir), 0);
	assert_int_equal(s.nr, 1);
	assert_string_equal(s.e[0].account, "rotated");
	assert_int_equal(s.generation, 3);
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_not_equal(access(q, F_OK), 0);
	free(p);
	free(q);

	/* the next save goes on from the adopted file */
	assert_int_equal(store_update(&s, "k1 c", "rotated", "generic", &t), 0);
	assert_int_equal(s.generation, 4);
	store_release(&s);

	oauth_token_release(&t);
	store_dir_remove(dir, sdir);
}

static void
test_move(void **state)
{
	char dir[] = "/tmp/bbs-store-XXXXXX", *sdir;
	struct oauth_token t;
	struct store s, s2;

	(void)state;
	sdir = store_dir_new(dir);
	assert_int_equal(store_open(&s, sdir), 0);
	memset(&t, 0, sizeof(t));
	t.access_token = xstrdup("old");
	assert_int_equal(store_update(&s, "k1 c", "alice", "generic", &t), 0);
	secret_free(t.access_token);
	t.access_token = xstrdup("new");
	t.refresh_token = xstrdup("rt2");
	assert_int_equal(store_update(&s, "k1 c", "account-1", "generic", &t),
	    0);
	assert_int_equal(store_move(&s, "k1 c", "account-1", "alice"), 0);
	assert_int_equal(store_open(&s2, sdir), 0);
	assert_int_equal(s2.nr, 1);
	assert_string_equal(s2.e[0].account, "alice");
	assert_string_equal(s2.e[0].provider, "generic");
	assert_string_equal(s2.e[0].tok.access_token, "new");
	assert_string_equal(s2.e[0].tok.refresh_token, "rt2");
	store_release(&s2);
	/* nothing to move: an error, and the store unchanged */
	assert_int_equal(store_move(&s, "k1 c", "account-1", "bob"), BBS_E_IO);
	err_clear();
	assert_int_equal(s.nr, 1);
	assert_string_equal(s.e[0].account, "alice");
	store_release(&s);

	oauth_token_release(&t);
	store_dir_remove(dir, sdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_update_and_adopt),
		cmocka_unit_test(test_adopt_by_generation),
		cmocka_unit_test(test_move),
	};

	oauth_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
