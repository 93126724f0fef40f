/* SPDX-License-Identifier: MIT */
/*
 * process.c - what a process that holds secrets does to itself: no core
 * dumps, no ptrace, and no client secret left in the configuration that
 * its children inherit.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "helper.h"

#define CONFIG_COUNT_MAX 100000

/* A hardening step that did not take: say so, and go on. */
static void
harden_warn(const char *what, int errnum)
{
	trace_printf("process: cannot %s: %s", what, strerror(errnum));
	fprintf(stderr, "warning: cannot %s (%s): a crash or a debugger "
	    "could expose the tokens this process holds\n", what,
	    strerror(errnum));
}

void
process_harden(void)
{
	struct rlimit rl = { 0, 0 };
	int failed = 0;

	if (secret_openssl_init() != 0) {
		trace_printf("process: %s", err_message());
		err_clear();
	}

	if (setrlimit(RLIMIT_CORE, &rl) != 0 ||
	    getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0) {
		harden_warn("turn off core dumps", errno ? errno : EPERM);
		failed = 1;
	}
#ifdef __linux__
	errno = 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		harden_warn("turn off ptrace and core dumps (PR_SET_DUMPABLE)",
		    errno ? errno : EPERM);
		failed = 1;
	}
#endif
	if (!failed)
		trace_printf("process: core dumps and ptrace are off");
}

/* bbs.clientSecret or bbs.<url>.clientSecret, in any case. */
int
config_key_is_secret(const char *name)
{
	const char *last = strrchr(name, '.');

	return strncasecmp(name, "bbs.", 4) == 0 && last != NULL &&
	    strcasecmp(last + 1, "clientsecret") == 0;
}

/* Append `s` as one single-quoted word of GIT_CONFIG_PARAMETERS. */
static void
param_quote(struct buf *b, const char *s)
{
	buf_add(b, "'", 1);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_addstr(b, "'\\''");
		else
			buf_add(b, s, 1);
	}
	buf_add(b, "'", 1);
}

struct param_filter {
	struct buf out;		/* secret: the settings without the secrets */
	int dropped;
};

static void
param_keep(const char *name, const char *value, void *payload)
{
	struct param_filter *f = payload;

	if (config_key_is_secret(name)) {
		f->dropped++;
		return;
	}
	if (f->out.len > 0)
		buf_add(&f->out, " ", 1);
	param_quote(&f->out, name);
	if (value != NULL) {
		buf_add(&f->out, "=", 1);
		param_quote(&f->out, value);
	}
}

/* Rewrite GIT_CONFIG_PARAMETERS without the client secrets. */
static int
scrub_parameters(void)
{
	struct param_filter f;
	char *old = getenv("GIT_CONFIG_PARAMETERS");
	int r;

	if (old == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	buf_init_secret(&f.out, strlen(old) + 64);
	if ((r = config_parse_parameters(old, param_keep, &f)) == 0 &&
	    (r = buf_error(&f.out)) == 0 && f.dropped > 0) {
		if (setenv("GIT_CONFIG_PARAMETERS", f.out.ptr ? f.out.ptr : "",
		    1) != 0)
			r = err_set(BBS_E_ERROR, "cannot set "
			    "GIT_CONFIG_PARAMETERS: %s", strerror(errno));
		else	/* the inherited copy, also seen in /proc/PID/environ */
			secret_wipe(old, strlen(old));
	}
	if (f.dropped > 0)
		trace_printf("process: removed %d client secret%s from "
		    "GIT_CONFIG_PARAMETERS", f.dropped, f.dropped == 1 ? "" :
		    "s");
	buf_release(&f.out);
	return r;
}

/* Entry `i` of the GIT_CONFIG_COUNT form: its key and value, or NULL. */
static void
count_entry(long i, char **k, char **v)
{
	char name[64];

	snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%ld", i);
	*k = getenv(name);
	snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%ld", i);
	*v = getenv(name);
}

static int
count_set(long i, const char *k, const char *v)
{
	char kname[64], vname[64];

	snprintf(kname, sizeof(kname), "GIT_CONFIG_KEY_%ld", i);
	snprintf(vname, sizeof(vname), "GIT_CONFIG_VALUE_%ld", i);
	if (k == NULL) {
		unsetenv(kname);
		unsetenv(vname);
		return 0;
	}
	if (setenv(kname, k, 1) != 0 || setenv(vname, v, 1) != 0)
		return err_set(BBS_E_ERROR, "cannot set %s: %s", kname,
		    strerror(errno));
	return 0;
}

/*
 * Rewrite GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n without the client
 * secrets: the entries kept move down, GIT_CONFIG_COUNT shrinks.
 */
static int
scrub_count(void)
{
	const char *env = getenv("GIT_CONFIG_COUNT");
	char *end, *k, *v, **secrets, count[32];
	long i, n, kept = 0, nsecret = 0;
	int r = 0;

	if (env == NULL || *env == '\0')
		return 0;
	n = strtol(env, &end, 10);
	if (*end != '\0' || n < 0 || n > CONFIG_COUNT_MAX)
		return err_set(BBS_E_INVALID, "bad GIT_CONFIG_COUNT");
	secrets = xcalloc((size_t)n + 1, sizeof(*secrets));
	for (i = 0; i < n && r == 0; i++) {
		count_entry(i, &k, &v);
		if (k == NULL || v == NULL) {
			r = err_set(BBS_E_INVALID, "missing config entry %ld "
			    "of GIT_CONFIG_COUNT", i);
			break;
		}
		if (config_key_is_secret(k)) {
			secrets[nsecret++] = v;
			continue;
		}
		if (kept != i) {
			k = xstrdup(k);
			v = xstrdup(v);
			r = count_set(kept, k, v);
			free(k);
			free(v);
		}
		kept++;
	}
	if (r == 0 && nsecret > 0) {
		for (i = kept; i < n && r == 0; i++)
			r = count_set(i, NULL, NULL);
		snprintf(count, sizeof(count), "%ld", kept);
		if (r == 0 && setenv("GIT_CONFIG_COUNT", count, 1) != 0)
			r = err_set(BBS_E_ERROR, "cannot set "
			    "GIT_CONFIG_COUNT: %s", strerror(errno));
		/* the inherited copies, also seen in /proc/PID/environ */
		for (i = 0; r == 0 && i < nsecret; i++)
			secret_wipe(secrets[i], strlen(secrets[i]));
		trace_printf("process: removed %ld client secret%s from "
		    "GIT_CONFIG_COUNT", nsecret, nsecret == 1 ? "" : "s");
	}
	free(secrets);
	return r;
}

int
config_env_scrub(void)
{
	int r;

	if ((r = scrub_parameters()) != 0)
		return r;
	return scrub_count();
}
