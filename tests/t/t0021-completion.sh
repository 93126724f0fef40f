#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='bash completion of git bbs, loaded the way git and bash-completion load it'

. "$(dirname "$0")/test-lib.sh"

BASH_COMPLETION=/usr/share/bash-completion/bash_completion
GIT_COMPLETION=/usr/share/bash-completion/completions/git
if [ -r "$BASH_COMPLETION" ] && [ -r "$GIT_COMPLETION" ]; then
	test_set_prereq COMPLETION
else
	say "skipping: bash-completion or git's completion is not installed"
fi

# complete WORDS...: in a fresh bash, with bash-completion and git's
# completion loaded and ours installed only where bash-completion looks
# for "git-bbs" (so git's completion must find it by itself), complete the
# last word of "WORDS" and print COMPREPLY, one word a line.
complete_words() {
	bash --norc --noprofile -c '
		. "$1" && . "$2" || exit 1
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		__git_wrap__git_main
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' complete "$BASH_COMPLETION" "$GIT_COMPLETION" "$@"
}

test_expect_success COMPLETION 'set up: the file installed as bash-completion wants it' '
	mkdir -p "$HOME/.local/share/bash-completion/completions" &&
	cp "$SRCDIR/contrib/completion/git-bbs.bash" \
		"$HOME/.local/share/bash-completion/completions/git-bbs" &&
	export XDG_DATA_HOME="$HOME/.local/share" &&
	git init -q repo &&
	git -C repo remote add origin bbs::https://bitbucket.org/team/repo.git &&
	git -C repo remote add mirror https://example.com/team/repo.git &&
	git -C repo remote set-url --push mirror https://push.example.com/r.git
'

test_expect_success COMPLETION 'subcommands' '
	complete_words git bbs "" >actual &&
	printf "%s\n" login logout status token import callback doctor \
		migrate >expect &&
	test_cmp expect actual &&
	complete_words git bbs lo >actual &&
	printf "%s\n" login logout >expect &&
	test_cmp expect actual
'

test_expect_success COMPLETION 'login options and --flow values' '
	complete_words git bbs login -- >actual &&
	printf "%s\n" --flow --flow= --scopes --scopes= >expect &&
	test_cmp expect actual &&
	complete_words git bbs login --flow "" >actual &&
	printf "%s\n" auto browser device paste client-credentials >expect &&
	test_cmp expect actual &&
	complete_words git bbs login --flow=d >actual &&
	echo --flow=device >expect &&
	test_cmp expect actual &&
	complete_words git bbs login --scopes "" >actual &&
	test_must_be_empty actual
'

test_expect_success COMPLETION 'remote URLs for login, logout, status and token' '
	printf "%s\n" bbs::https://bitbucket.org/team/repo.git \
		https://example.com/team/repo.git >expect &&
	for sub in login logout status token; do
		(cd repo && complete_words git bbs $sub "") >actual &&
		test_cmp expect actual || return 1
	done &&
	(cd repo && complete_words git bbs status bbs) >actual &&
	echo bbs::https://bitbucket.org/team/repo.git >expect &&
	test_cmp expect actual &&
	(cd repo && complete_words git bbs login --flow browser "") >actual &&
	printf "%s\n" bbs::https://bitbucket.org/team/repo.git \
		https://example.com/team/repo.git >expect &&
	test_cmp expect actual
'

test_expect_success COMPLETION 'migrate completes remote names and its options' '
	(cd repo && complete_words git bbs migrate "") >actual &&
	printf "%s\n" mirror origin >expect &&
	test_cmp expect actual &&
	(cd repo && complete_words git bbs migrate --d) >actual &&
	echo --dry-run >expect &&
	test_cmp expect actual
'

test_done
