# SPDX-License-Identifier: MIT
# bash completion for "git bbs" (and "git-bbs").
#
# git's own completion (contrib/completion/git-completion.bash, installed
# by Debian's git package) completes "git bbs <TAB>" by calling _git_bbs,
# which it loads from this file through bash-completion's loader when the
# file is installed as "git-bbs" in bash-completion's completions
# directory.  zsh users get the same through git's bash-completion bridge
# (git-completion.zsh), which calls the same _git_bbs function.

__git_bbs_commands="login logout status token import callback doctor migrate"
__git_bbs_flows="auto browser device paste client-credentials"

# __git_bbs_remote_urls: the fetch URLs of the current repository's remotes,
# as "git remote -v" lists them, each once.
__git_bbs_remote_urls ()
{
	git remote -v 2>/dev/null |
		while read -r _ url kind; do
			[ "$kind" = "(fetch)" ] && printf '%s\n' "$url"
		done | sort -u
}

# __git_bbs_reply WORDS CUR [PREFIX]: set COMPREPLY to the WORDS that start
# with CUR, each with PREFIX before it.
__git_bbs_reply ()
{
	local w
	COMPREPLY=()
	for w in $1; do
		case $w in
		"$2"*) COMPREPLY+=("${3-}$w") ;;
		esac
	done
}

_git_bbs ()
{
	local cur=${cur-${COMP_WORDS[COMP_CWORD]}}
	local prev=${prev-${COMP_WORDS[COMP_CWORD-1]}}
	local i sub=
	local -a w=("${words[@]:-${COMP_WORDS[@]}}")
	local n=${cword-$COMP_CWORD}

	# the subcommand: the first word after "bbs" (or "git-bbs") that is
	# not an option
	for ((i = 1; i < n; i++)); do
		case ${w[i]} in
		bbs | git-bbs) continue ;;
		-*) continue ;;
		esac
		if [ "${w[i-1]}" = bbs ] || [ "${w[i-1]}" = git-bbs ] ||
			[ "$i" = 1 ]; then
			sub=${w[i]}
			break
		fi
	done

	if [ -z "$sub" ]; then
		case $cur in
		-*) __git_bbs_reply "--help --version" "$cur" ;;
		*) __git_bbs_reply "$__git_bbs_commands" "$cur" ;;
		esac
		return
	fi

	case $sub,$prev in
	login,--flow)
		__git_bbs_reply "$__git_bbs_flows" "$cur"
		return
		;;
	login,--scopes)
		COMPREPLY=()
		return
		;;
	esac

	case $sub,$cur in
	login,--flow=*)
		__git_bbs_reply "$__git_bbs_flows" "${cur#--flow=}" --flow=
		return
		;;
	login,-*)
		__git_bbs_reply "--flow --flow= --scopes --scopes=" "$cur"
		return
		;;
	callback,-*)
		__git_bbs_reply "--register --unregister" "$cur"
		return
		;;
	migrate,-*)
		__git_bbs_reply "--dry-run --forget-passwords" "$cur"
		return
		;;
	migrate,*)
		__git_bbs_reply "$(git remote 2>/dev/null)" "$cur"
		return
		;;
	login,* | logout,* | status,* | token,* | import,* | doctor,*)
		__git_bbs_reply "$(__git_bbs_remote_urls)" "$cur"
		return
		;;
	esac
	COMPREPLY=()
}

# "git-bbs <TAB>" typed as its own command
if declare -f __git_func_wrap >/dev/null 2>&1; then
	complete -o bashdefault -o default -o nospace -F _git_bbs git-bbs 2>/dev/null
else
	complete -o bashdefault -o default -F _git_bbs git-bbs 2>/dev/null
fi
