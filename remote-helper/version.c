/* SPDX-License-Identifier: MIT */
/*
 * version.c - what "--version" prints for the three programs: their
 * version, and the versions of the libraries they run with (as loaded at
 * run time, which may differ from the headers they were built against).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <git2.h>
#include <openssl/crypto.h>

#include "helper.h"

void
version_print(FILE *out, const char *prog)
{
	int major = 0, minor = 0, rev = 0;

	git_libgit2_version(&major, &minor, &rev);
	fprintf(out, "%s %s\n", prog, PACKAGE_VERSION);
	fprintf(out, "libgit2 %d.%d.%d\n", major, minor, rev);
	fprintf(out, "libcurl %s\n", http_library_version());
	fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));
	fprintf(out, "jansson %s\n", json_library_version());
}

int
version_or_help(int argc, char **argv, const char *prog,
    const char *usage_text)
{
	if (argc != 2)
		return 0;
	if (strcmp(argv[1], "--version") == 0) {
		version_print(stdout, prog);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 1;
	}
	return 0;
}
