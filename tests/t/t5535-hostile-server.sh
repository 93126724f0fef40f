#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='a hostile server: nothing it advertises or reports is taken on trust'

. "$(dirname "$0")/test-lib.sh"

HOSTILE=$TRASH_DIRECTORY/hostile
VICTIM=$TRASH_DIRECTORY/precious
BBS_ACCESS_TOKEN=bbs_hostile_test_token
export BBS_ACCESS_TOKEN

# tamper JSON: what the server changes from now on (see hostile-git.py).
tamper() {
	printf '%s\n' "$1" >"$HOSTILE/tamper.json"
}

# start_hostile: start the server in $HOSTILE, stop it at exit, and wait
# (up to 10 s) until it has written its port.
start_hostile() {
	local i
	python3 "$SRCDIR/tests/forge/hostile-git.py" "$HOSTILE" >"$HOSTILE/out" 2>&1 &
	echo $! >"$HOSTILE/pid"
	test_atexit "kill $!"
	for i in $(seq 100); do
		test -s "$HOSTILE/port" && return 0
		sleep 0.1
	done
	cat "$HOSTILE/out" >&2
	return 1
}

# push_upstream FILE MESSAGE: commit FILE, written in upstream, and push
# main to the server.
push_upstream() {
	git -C upstream add "$1" &&
	git -C upstream commit -q -m "$2" &&
	git -C upstream push -q "$HOSTILE/repo.git" main
}

# no_esc FILE: FILE holds no ESC or BEL byte, and no byte of a C1 CSI
# or OSC (0x9b, 0x9d: raw, or in UTF-8 after 0xc2).
no_esc() {
	! LC_ALL=C grep -q "$(printf '[\033\007\233\235]')" "$1"
}

test_expect_success 'set up the hostile server' '
	mkdir -p "$HOSTILE" &&
	git init -q --bare "$HOSTILE/repo.git" &&
	git -C "$HOSTILE/repo.git" symbolic-ref HEAD refs/heads/main &&
	git init -q -b main upstream &&
	printf "one\n" >upstream/a.txt &&
	git -C upstream add a.txt &&
	git -C upstream commit -q -m one &&
	git -C upstream tag -a -m v1 v1 &&
	git -C upstream push -q "$HOSTILE/repo.git" main v1 &&
	start_hostile &&
	URL=bbs::http://127.0.0.1:$(cat "$HOSTILE/port")/repo.git &&
	git clone -q "$URL" clone &&
	printf "keep me\n" >"$VICTIM"
'

# A ref name that ends git's `list` answer early and makes git read
# "lock <file>" as the answer to its next fetch: git deletes that file.
INJECT='refs/heads/main\n\nok\nlock '$VICTIM

test_expect_success 'fetch: a ref name with newlines injects nothing' '
	printf "two\n" >upstream/b.txt &&
	push_upstream b.txt two &&
	git -C clone rev-parse origin/main >before &&
	tamper "{\"rename\": {\"refs/heads/main\": \"$INJECT\"}}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_path_is_file "$VICTIM" &&
	test_grep "protocol error: http://127.0.0.1:.* advertised an invalid ref name .refs/heads/main^J^Jok^Jlock " err &&
	test_line_count = 1 err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'clone: a ref name with newlines injects nothing' '
	tamper "{\"rename\": {\"refs/heads/main\": \"$INJECT\"}}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git clone -q "$URL" c2 2>err &&
	test_path_is_file "$VICTIM" &&
	test_grep "advertised an invalid ref name" err &&
	test_line_count = 1 err &&
	test_path_is_missing c2
'

test_expect_success 'a symref target with newlines injects nothing' '
	tamper "{\"caps\": [\"symref=HEAD:refs/heads/main\", \"symref=HEAD:refs/heads/main\\n\\nok\\nconnectivity-ok\"]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_line_count = 1 err
'

test_expect_success 'a HEAD that is its own symref target is listed as a plain ref' '
	tamper "{\"caps\": [\"symref=HEAD:refs/heads/main\", \"symref=HEAD:HEAD\"]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	git ls-remote --symref "$URL" >refs &&
	! grep "^ref:" refs &&
	grep "	HEAD$" refs &&
	git clone -q "$URL" c3 &&
	test "$(git -C c3 rev-parse HEAD)" = "$(git -C "$HOSTILE/repo.git" rev-parse main)"
'

test_expect_success 'push: a ref name with newlines injects nothing' '
	git -C clone commit -q --allow-empty -m local &&
	tamper "{\"rename\": {\"refs/heads/main\": \"$INJECT\"}}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin HEAD:refs/heads/other 2>err &&
	test_path_is_file "$VICTIM" &&
	test_grep "advertised an invalid ref name .refs/heads/main^J" err &&
	test_line_count = 1 err &&
	test_must_fail git -C "$HOSTILE/repo.git" rev-parse --verify -q refs/heads/other
'

for name in 'refs/heads/a..b' 'refs/heads/x.lock' 'refs/heads/sp ace' \
	'refs/heads/esc\u001b[2J' 'refs/heads/a@{1}' 'refs/heads//x' \
	'refs/heads/.hidden' 'refs/heads/end.' '-refs/heads/x' 'main' \
	'refs/heads/csi\u00c2\u009b2J' 'refs/heads/raw\u009b2J'
do
	test_expect_success "an advertised ref named '$name' is refused" '
		tamper "{\"rename\": {\"refs/heads/main\": \"$name\"}}" &&
		test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
		test_must_fail git -C clone fetch origin 2>err &&
		test_grep "advertised an invalid ref name" err &&
		no_esc err
	'
done

test_expect_success 'peeled tags are listed, and annotated tags still follow' '
	git -C clone fetch -q origin &&
	git ls-remote "$URL" >ls &&
	test_grep "refs/tags/v1^{}" ls &&
	git -C clone tag -d v1 &&
	git -C clone fetch -q origin &&
	git -C clone rev-parse --verify -q refs/tags/v1
'

# The report of a push that receive-pack would make for the refs in $1,
# with the status lines given.
report() {
	local json='{"report": [[1, "unpack ok\n"]' line
	for line in "$@"; do
		json="$json, [1, \"$line\"]"
	done
	tamper "$json, [1, null], [0, null]]}"
}

test_expect_success 'a forged status after an ng in one line does not count' '
	git -C clone fetch -q origin &&
	git -C clone reset -q --hard origin/main &&
	git -C clone commit -q --allow-empty -m forged &&
	git -C clone rev-parse origin/main >before &&
	report "ng refs/heads/main hook declined\nok refs/heads/main\n" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep "\[remote rejected\] *main -> main" err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'a status for a ref that was not pushed is refused' '
	report "ok refs/heads/other\n" "ok refs/heads/main\n" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep "a status for a ref that was not pushed" err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'a second status for one ref is refused' '
	report "ng refs/heads/main no\n" "ok refs/heads/main\n" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep "a second status for one ref" err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'a pushed ref without a status failed' '
	report &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep "no status reported by the server" err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'an ng reason reaches the user quoted and masked' '
	report "ng refs/heads/main say \\\"no\\\" back\\\\slash \u001b[1mbold \u00e9\n" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	printf "%s\n" "(say \"no\" back\\slash ^[[1mbold " >expect &&
	test_grep -F -f expect err &&
	no_esc err
'

test_expect_success 'the reason the server could not unpack is shown, masked' '
	tamper "{\"report\": [[1, \"unpack pack exceeds maximum allowed size \u001b[31mred\n\"], [1, \"ng refs/heads/main unpacker error\n\"], [1, null], [0, null]]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep -F "error: remote unpack failed: pack exceeds maximum allowed size ^[[31mred" err &&
	test_grep "\[remote rejected\] *main -> main (unpacker error)" err &&
	no_esc err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'side-band text has its escape sequences masked' '
	tamper "{\"report\": [[2, \"hello \u001b[31mred\u001b]0;title\u0007\n\"], [1, \"unpack ok\n\"], [1, \"ng refs/heads/main no\n\"], [1, null], [0, null]]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep -F "remote: hello ^[[31mred^[]0;title^G" err &&
	no_esc err
'

test_expect_success 'side-band C1 controls are masked, UTF-8 text is not' '
	tamper "{\"report\": [[2, \"caf\u00c3\u00a9 \u00c2\u009b31mred \u009d0;t\u009c\n\"], [1, \"unpack ok\n\"], [1, \"ng refs/heads/main no\n\"], [1, null], [0, null]]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	printf "remote: caf\303\251 M-^[31mred M-^]0;tM-^\\\\\n" >expect &&
	test_grep -F -f expect err &&
	no_esc err
'

test_expect_success 'a remote error has its escape sequences masked' '
	tamper "{\"report\": [[3, \"boom \u001b[2J\n\"]]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep -F "remote error: boom ^[[2J" err &&
	no_esc err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'an ERR in the advertisement has its escape sequences masked' '
	tamper "{\"err\": \"go away \u001b[5mnow\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone push origin main 2>err &&
	test_grep -F "remote error: go away ^[[5mnow" err &&
	no_esc err
'

test_expect_success 'an ERR to a fetch has its escape sequences masked' '
	tamper "{\"err\": \"go away \u001b[5mnow \u00c2\u009b5m\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_grep -F "go away ^[[5mnow M-^[5m" err &&
	no_esc err
'

test_expect_success 'a want the server refuses: its ERR is the one line shown' '
	git -C clone for-each-ref >refs.before &&
	tamper "{\"extra_refs\": [[\"1111111111111111111111111111111111111111\", \"refs/heads/ghost\"]]}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_grep "^fatal: bbs: remote error: upload-pack: not our ref 1111111111111111111111111111111111111111$" err &&
	test_line_count = 1 err &&
	git -C clone for-each-ref >refs.after &&
	test_cmp refs.before refs.after
'

test_expect_success 'an error on side-band 3 during a fetch is shown, masked' '
	printf "2a\n" >upstream/e.txt &&
	push_upstream e.txt 2a &&
	git -C clone for-each-ref >refs.before &&
	ls clone/.git/objects/pack >packs.before &&
	tamper "{\"band3\": \"repository disabled \u001b[2J by the admin\n\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_grep -F "fatal: bbs: remote error: repository disabled ^[[2J by the admin" err &&
	test_line_count = 1 err &&
	no_esc err &&
	git -C clone for-each-ref >refs.after &&
	test_cmp refs.before refs.after &&
	ls clone/.git/objects/pack >packs.after &&
	test_cmp packs.before packs.after
'

test_expect_success 'fetch progress has its escape sequences masked' '
	printf "three\n" >upstream/c.txt &&
	push_upstream c.txt three &&
	tamper "{\"progress\": \"counting \u001b[31mred\u001b[0m \u009b1m\u00c2\u009b2m\n\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	git -C clone fetch --progress origin 2>err &&
	test_grep -F "remote: counting ^[[31mred^[[0m M-^[1mM-^[2m" err &&
	no_esc err &&
	git -C upstream rev-parse main >expect &&
	git -C clone rev-parse origin/main >actual &&
	test_cmp expect actual
'

# fetch_fails_packs_unchanged TEXT: a fetch in clone fails saying TEXT, and
# objects/pack holds what it held before.
fetch_fails_packs_unchanged() {
	ls clone/.git/objects/pack >before &&
	test_must_fail git -C clone fetch origin 2>err &&
	test_grep "$1" err &&
	ls clone/.git/objects/pack >after &&
	test_cmp before after
}

test_expect_success 'a fetch answered with a pack of other objects fails and leaves no pack behind' '
	head -c 300000 /dev/urandom >upstream/d.bin &&
	push_upstream d.bin four &&
	git init -q other &&
	head -c 300000 /dev/urandom >other/x.bin &&
	git -C other add x.bin &&
	git -C other commit -q -m other &&
	echo HEAD | git -C other pack-objects -q --revs --stdout >other.pack &&
	tamper "{\"pack\": \"$TRASH_DIRECTORY/other.pack\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	fetch_fails_packs_unchanged "did not send the objects" &&
	test_must_fail git -C clone cat-file -e "$(git -C other rev-parse HEAD)"
'

# libgit2 writes the server's shallow lines once the pack is in: a fetch
# that then fails must put .git/shallow back.
test_expect_success LIBGIT2_1_9 'a deepening fetch that fails leaves .git/shallow as it was (libgit2 1.9+)' '
	rm -f "$HOSTILE/tamper.json" &&
	git clone -q --depth 1 "$URL" shallow1 &&
	cp shallow1/.git/shallow shallow.before &&
	printf "five\n" >upstream/f.txt &&
	push_upstream f.txt five &&
	tamper "{\"pack\": \"$TRASH_DIRECTORY/other.pack\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	test_must_fail git -C shallow1 fetch --depth 3 origin 2>err &&
	test_grep "did not send the objects" err &&
	test_cmp shallow.before shallow1/.git/shallow &&
	git -C shallow1 fsck --no-progress &&
	git -C shallow1 log --oneline >/dev/null &&
	test_must_fail git -C clone fetch --depth 1 origin 2>err &&
	test_grep "did not send the objects" err &&
	test_path_is_missing clone/.git/shallow &&
	ls shallow1/.git clone/.git >gitdirs &&
	! grep "shallow\.bbs" gitdirs
'

# deepening_fails CLONE PACK: a --depth 1 clone CLONE, whose fetch --depth
# 3 is answered with PACK, fails in one line saying the history is
# missing, and CLONE is as it was.
deepening_fails() {
	rm -f "$HOSTILE/tamper.json" &&
	git clone -q --depth 1 "$URL" "$1" &&
	cp "$1/.git/shallow" shallow.before &&
	tamper "{\"pack\": \"$2\"}" &&
	test_must_fail git -C "$1" fetch --depth 3 origin 2>err &&
	test_grep "did not send the history of the shallow fetch" err &&
	test_line_count = 1 err &&
	test_cmp shallow.before "$1/.git/shallow" &&
	git -C "$1" log --oneline >/dev/null &&
	git -C "$1" fsck --no-progress
}

test_expect_success LIBGIT2_1_9 'a deepening fetch without the history it unshallows fails and changes nothing (libgit2 1.9+)' '
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	deepening_fails shallow2 "$TRASH_DIRECTORY/other.pack"
'

test_expect_success LIBGIT2_1_9 'a deepening fetch of commits without their trees fails and changes nothing (libgit2 1.9+)' '
	git -C upstream rev-parse main~1 main~2 |
		git -C upstream pack-objects -q --stdout >commits.pack &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	deepening_fails shallow3 "$TRASH_DIRECTORY/commits.pack"
'

test_expect_success LIBGIT2_1_9 'a shallow clone of commits without their trees fails (libgit2 1.9+)' '
	tamper "{\"pack\": \"$TRASH_DIRECTORY/commits.pack\"}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	git -C upstream rev-parse main~1 main |
		git -C upstream pack-objects -q --stdout >commits.pack &&
	test_must_fail git clone -q --depth 2 "$URL" shallow4 &&
	test_path_is_missing shallow4
'

test_expect_success LIBGIT2_1_9 'a shallow fetch that cannot write .git/shallow leaves no pack behind (libgit2 1.9+)' '
	rm -f "$HOSTILE/tamper.json" &&
	git clone -q --depth 1 "$URL" shallow5 &&
	printf "six\n" >upstream/g.txt &&
	push_upstream g.txt six &&
	cp shallow5/.git/shallow shallow.before &&
	ls shallow5/.git/objects/pack >packs.before &&
	: >shallow5/.git/shallow.lock &&
	test_must_fail git -C shallow5 fetch --depth 1 origin 2>err &&
	test_line_count = 1 err &&
	rm shallow5/.git/shallow.lock &&
	test_cmp shallow.before shallow5/.git/shallow &&
	ls shallow5/.git/objects/pack >packs.after &&
	test_cmp packs.before packs.after
'

test_expect_success 'a fetch whose pack is cut short and then flushed leaves no temporary pack' '
	tamper "{\"cut_pack\": true}" &&
	test_when_finished "rm -f \"$HOSTILE/tamper.json\"" &&
	fetch_fails_packs_unchanged "index-pack failed" &&
	rm -f "$HOSTILE/tamper.json" &&
	git -C clone fetch -q origin &&
	git -C upstream rev-parse main >expect &&
	git -C clone rev-parse origin/main >actual &&
	test_cmp expect actual
'

test_done
