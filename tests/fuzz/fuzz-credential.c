/* SPDX-License-Identifier: MIT */
/*
 * fuzz-credential.c - git-credential-bbs's reading of git's credential
 * protocol (cred_read) and the answer it prints (cred_write).
 *
 * The input is what git would send on stdin.  Every value read is then
 * printed back as an answer, the way an attacker-chosen value could be.
 * Oracle: the answer has exactly one line per printed pair, each
 * "key=value" with no CR and no extra line; a value read never holds a
 * NUL (it would be cut) and never a CR.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_answer(const char *out, size_t len, size_t pairs)
{
	size_t i, lines = 0;

	for (i = 0; i < len; i++) {
		if (out[i] == '\r' || out[i] == '\0')
			abort();
		if (out[i] == '\n')
			lines++;
	}
	if (len > 0 && out[len - 1] != '\n')
		abort();
	if (len > 0 && lines != pairs)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred c;
	FILE *in, *out;
	char *buf = NULL;
	size_t len = 0, n = 0;
	const char *kv[11];

	if (size == 0)
		return 0;
	if ((in = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	if (cred_read(&c, in) == 0) {
		const char *v[] = { c.protocol, c.host, c.path, c.username,
			c.password };
		const char *k[] = { "protocol", "host", "path", "username",
			"password" };
		size_t i;

		for (i = 0; i < BBS_ARRAY_SIZE(v); i++) {
			if (v[i] == NULL)
				continue;
			if (strchr(v[i], '\r') != NULL)
				abort();
			kv[2 * n] = k[i];
			kv[2 * n + 1] = v[i];
			n++;
		}
		kv[2 * n] = NULL;
		if ((out = open_memstream(&buf, &len)) != NULL) {
			if (cred_write(out, kv) != 0)
				n = 0;
			fclose(out);
			check_answer(buf, len, n);
			free(buf);
		}
	}
	err_clear();
	cred_release(&c);
	fclose(in);
	return 0;
}
