/* SPDX-License-Identifier: MIT */
/*
 * fsck.c - fetch.fsck.<msg-id> and fetch.fsck.skipList, for the
 * `git index-pack --strict` that checks a fetch when fetch.fsckObjects or
 * transfer.fsckObjects is set, as git's fetch-pack passes them.
 *
 * index-pack dies on a message id it does not know, where git's fetch
 * warns and goes on; so only ids every supported git knows (those of git
 * 2.39, the oldest) are passed, and any other is skipped with git's
 * warning.  A severity other than error, warn or ignore is an error, as
 * in git.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

/* git's message ids, lowercase, as git 2.39 names them in fsck.h. */
static const char *const msg_ids[] = {
	"nulinheader", "unterminatedheader", "baddate", "baddateoverflow",
	"bademail", "badname", "badobjectsha1", "badparentsha1",
	"badtimezone", "badtree", "badtreesha1", "badtype",
	"duplicateentries", "missingauthor", "missingcommitter",
	"missingemail", "missingnamebeforeemail", "missingobject",
	"missingspacebeforedate", "missingspacebeforeemail", "missingtag",
	"missingtagentry", "missingtree", "missingtype", "missingtypeentry",
	"multipleauthors", "treenotsorted", "unknowntype", "zeropaddeddate",
	"gitmodulesmissing", "gitmodulesblob", "gitmoduleslarge",
	"gitmodulesname", "gitmodulessymlink", "gitmodulesurl",
	"gitmodulespath", "gitmodulesupdate", "gitattributesmissing",
	"gitattributeslarge", "gitattributeslinelength", "gitattributesblob",
	"emptyname", "fullpathname", "hasdot", "hasdotdot", "hasdotgit",
	"nullsha1", "zeropaddedfilemode", "nulincommit", "badfilemode",
	"gitmodulesparse", "gitignoresymlink", "gitattributessymlink",
	"mailmapsymlink", "badtagname", "missingtaggerentry",
	"extraheaderentry",
};

static int
msg_id_known(const char *id)
{
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(msg_ids); i++)
		if (strcasecmp(msg_ids[i], id) == 0)
			return 1;
	return 0;
}

/* `path` with a leading "~/" made $HOME's, as git reads a path setting. */
static char *
path_expanded(const char *path)
{
	const char *home = getenv("HOME");

	if (strncmp(path, "~/", 2) == 0 && home != NULL && *home != '\0')
		return xasprintf("%s/%s", home, path + 2);
	return xstrdup(path);
}

/* Put id=value in `f`, replacing an earlier value of the id. */
static void
fsck_put(struct fsck_types *f, const char *id, char *value)
{
	size_t i;

	for (i = 0; i < f->nr; i++) {
		if (strcmp(f->id[i], id) != 0)
			continue;
		free(f->value[i]);
		f->value[i] = value;
		return;
	}
	if (f->nr == BBS_ARRAY_SIZE(f->id)) {
		free(value);	/* more than git has ids: not reached */
		return;
	}
	f->id[f->nr] = xstrdup(id);
	f->value[f->nr++] = value;
}

void
fsck_types_set(struct fsck_types *f, const char *id, const char *value)
{
	char lower[64];
	size_t i, n = strlen(id);

	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;	/* no id is that long: unknown */
	for (i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)id[i]);
	lower[n] = '\0';
	fsck_put(f, lower, xstrdup(value));
}

/* Append ",id=value" (or "=id=value" first) to `b`. */
static void
option_add(struct buf *b, const char *id, const char *value)
{
	buf_addf(b, "%c%s=%s", strchr(b->ptr, '=') == NULL ? '=' : ',', id,
	    value);
}

int
fsck_types_option(const struct fsck_types *f, char **out)
{
	struct buf b;
	char *path, *shown;
	size_t i;
	int r = 0;

	*out = NULL;
	buf_init(&b, 0);
	buf_addstr(&b, "--strict");
	for (i = 0; i < f->nr && r == 0; i++) {
		const char *id = f->id[i], *v = f->value[i];

		if (strcmp(id, "skiplist") == 0) {
			path = path_expanded(v);
			if (*path == '\0' || strpbrk(path, ",=") != NULL)
				r = err_set(BBS_E_INVALID, "fetch.fsck.skipList: "
				    "git index-pack takes no path with ',' or "
				    "'=' in it, and no empty one");
			else
				option_add(&b, id, path);
			free(path);
		} else if (!msg_id_known(id)) {
			shown = text_sanitized(id, strlen(id));
			fprintf(stderr, "warning: Skipping unknown msg id "
			    "'%s'\n", shown);
			free(shown);
		} else if (strcmp(v, "error") != 0 && strcmp(v, "warn") != 0 &&
		    strcmp(v, "ignore") != 0) {
			r = err_set(BBS_E_INVALID, "bad value for fetch.fsck.%s "
			    "(error, warn or ignore)", id);
		} else
			option_add(&b, id, v);
	}
	if (r == 0)
		*out = buf_detach(&b);
	buf_release(&b);
	return r;
}

void
fsck_types_release(struct fsck_types *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++) {
		free(f->id[i]);
		free(f->value[i]);
	}
	memset(f, 0, sizeof(*f));
}
