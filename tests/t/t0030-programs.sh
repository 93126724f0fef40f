#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='every program answers --version and --help; the man pages document every configuration key'

. "$(dirname "$0")/test-lib.sh"

# readme_keys: every configuration key and environment variable in the
# README's configuration table, one a line (".tokenUrl" continuations are
# given their "bbs.<url>" stem).
readme_keys() {
	sed -n '/^## Configuration/,/^## /p' "$SRCDIR/README.md" |
		grep '^| ' | sed 1,2d |
		awk -F'|' '{ print $2; print $3 }' |
		grep -o '`[^`]*`' | tr -d '`' |
		awk '
			/^bbs\.<url>\./ { stem = "bbs.<url>"; print; next }
			/^http\.<url>\./ { stem = "http.<url>"; print; next }
			/^\./ { print stem $0; next }
			/^[a-z]+\.[A-Za-z.<>]+$/ || /^[A-Z][A-Z0-9_]+$/ { print }
		' | sort -u
}

test_expect_success 'each program prints its version and its libraries' '
	for prog in git-remote-bbs git-bbs git-credential-bbs; do
		"$prog" --version >out &&
		grep "^$prog [0-9][0-9.]*" out &&
		grep "^libgit2 [0-9]" out &&
		grep "^libcurl [0-9]" out &&
		grep "^OpenSSL [0-9]" out &&
		grep "^jansson [0-9]" out || return 1
	done &&
	git bbs --version >out &&
	grep "^git-bbs " out
'

test_expect_success 'each program answers --help on stdout and exits 0' '
	for prog in git-remote-bbs git-bbs git-credential-bbs; do
		"$prog" --help >out 2>err &&
		grep "^usage: " out &&
		test_must_be_empty err || return 1
	done
'

test_expect_success 'the README lists keys at all (the extraction works)' '
	readme_keys >keys &&
	grep -x "bbs.<url>.clientId" keys &&
	grep -x "bbs.<url>.tokenUrl" keys &&
	grep -x "BBS_ACCESS_TOKEN" keys &&
	test $(wc -l <keys) -ge 20
'

test_expect_success 'every key of the README configuration table is in a man page' '
	cat "$SRCDIR"/remote-helper/*.1 >man &&
	readme_keys >keys &&
	: >missing &&
	while read -r key; do
		name=${key##*.} &&
		case $key in
		bbs.\<url\>.* | http.\<url\>.*)
			grep -qF -- "$name" man || echo "$key" >>missing ;;
		*)
			grep -qF -- "$key" man || echo "$key" >>missing ;;
		esac || return 1
	done <keys &&
	test_must_be_empty missing
'

test_expect_success 'every source file carries its SPDX licence line, and COPYING is there' '
	test_path_is_file "$SRCDIR/COPYING" &&
	(cd "$SRCDIR" &&
		find oauth remote-helper tests/t tests/forge tests/fuzz tests/unit \
			tests/bench contrib m4 .ci -path tests/forge/oidc/node_modules \
			-prune -o -type f \( -name "*.[ch]" -o -name "*.sh" \
			-o -name "*.py" -o -name "*.cgi" -o -name "*.mjs" -o -name "*.1" \
			-o -name "*.m4" -o -name "*.bash" \) -print
		ls configure.ac Makefile.am autogen.sh .ci/run
	) >sources &&
	test $(wc -l <sources) -gt 100 &&
	(cd "$SRCDIR" && xargs grep -L "SPDX-License-Identifier: MIT" ) <sources >unlicensed &&
	test_must_be_empty unlicensed
'

test_done
