/* SPDX-License-Identifier: MIT */
/*
 * credential.c - git's credential protocol, the helper's side: the
 * key=value lines git sends, and the answer we print.
 *
 * Git's own rules apply: a line ends at LF (a CR before it is dropped),
 * a NUL byte or another CR is an error, and no value we print may contain
 * CR or LF (it would add lines to the answer).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

#define CRED_LINE_MAX 65536

void
cred_release(struct cred *c)
{
	if (c == NULL)
		return;
	free(c->protocol);
	free(c->host);
	free(c->path);
	free(c->username);
	secret_free(c->password);
	secret_free(c->credential);
	memset(c, 0, sizeof(*c));
}

/* Keep `value` as the attribute `key` names (unknown keys are ignored). */
static void
cred_set(struct cred *c, const char *key, const char *value)
{
	char **dst = strcmp(key, "protocol") == 0 ? &c->protocol :
	    strcmp(key, "host") == 0 ? &c->host :
	    strcmp(key, "path") == 0 ? &c->path :
	    strcmp(key, "username") == 0 ? &c->username :
	    strcmp(key, "password") == 0 ? &c->password :
	    strcmp(key, "credential") == 0 ? &c->credential : NULL;

	if (strcmp(key, "capability[]") == 0 && strcmp(value, "authtype") == 0)
		c->cap_authtype = 1;
	if (dst == NULL)
		return;
	if (dst == &c->password || dst == &c->credential)
		secret_free(*dst);
	else
		free(*dst);
	*dst = xstrdup(value);
}

int
cred_read(struct cred *c, FILE *in)
{
	struct buf line;
	char *eq;
	int r;

	memset(c, 0, sizeof(*c));
	buf_init_secret(&line, CRED_LINE_MAX);
	while ((r = proto_read_line(in, &line)) > 0) {
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.ptr[--line.len] = '\0';
		if (line.len == 0)
			break;
		if (strlen(line.ptr) != line.len) {
			r = err_set(BBS_E_PROTOCOL, "a NUL byte in the "
			    "credential request");
			break;
		}
		if (strchr(line.ptr, '\r') != NULL) {
			r = err_set(BBS_E_PROTOCOL, "a CR inside a line of the "
			    "credential request");
			break;
		}
		if ((eq = strchr(line.ptr, '=')) == NULL)
			continue;
		*eq = '\0';
		cred_set(c, line.ptr, eq + 1);
	}
	buf_release(&line);
	if (r < 0)
		cred_release(c);
	return r < 0 ? r : 0;
}

int
cred_write(FILE *out, const char *const *kv)
{
	size_t i;

	for (i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		if (strpbrk(kv[i], "\r\n=") != NULL ||
		    strpbrk(kv[i + 1], "\r\n") != NULL)
			return err_set(BBS_E_INVALID, "refusing to answer git "
			    "with a newline in '%s'", strpbrk(kv[i], "\r\n") ?
			    "a key" : kv[i]);
	for (i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		fprintf(out, "%s=%s\n", kv[i], kv[i + 1]);
	if (fflush(out) != 0 || ferror(out))
		return err_set(BBS_E_IO, "cannot write the credential answer");
	return 0;
}
