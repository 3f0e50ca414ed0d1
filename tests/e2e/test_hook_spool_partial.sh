#!/bin/bash
# A spooled push the poller keeps for a later round (one of its refs
# cannot be read yet) is rewritten to hold only the refs not recorded yet
# (same format, same age): what was recorded and sent is not read and
# recorded again each round, where it was, and once state_keep had
# forgotten it, sent again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/async.yaml
hook_config "$CFG" "$FAKE_URL" async 5s "state_keep: 1s"
new_repo a "$CFG"
G=$T/a.git
W=$T/a
S=$G/zadig-hook
spool_file() { find "$S/spool" -maxdepth 1 -name '*.push' 2>/dev/null; }
spooled() { spool_file | wc -l; }

hrun git -C "$W" push origin main
expect "a first push" 0 "" "refs/heads/main queued \\(async\\)"
check "its note" wait_note "$G" main "^passed wf-dev #1 "
check "its poller exits" wait_pollers 20
check "one create" test "$(creates wf-dev)" = 1

# one spooled push of two refs: feature/a (readable) and feature/b, whose
# commit the repository does not hold yet
commit "$W" "a"
git -C "$W" push -q origin HEAD:refs/heads/nomatch-a 2>/dev/null
a=$(git -C "$W" rev-parse HEAD)
commit "$W" "b"
b=$(git -C "$W" rev-parse HEAD)
zero=$(printf '%040d' 0)
F=$S/spool/0000000000000000001-1-00000000.push
printf 'zadig-hook spool 1\ng%s\0c%s\0oci.note=x\0u%s %s refs/heads/feature/a\0u%s %s refs/heads/feature/b\0' \
	"$G" "$CFG" "$zero" "$a" "$zero" "$b" >"$F"
touch -d '-1 minute' "$F"
before=$(stat -c %Y "$F")

zadig-hook poll --git-dir "$G" 2>>"$S/poller.log" &
check "feature/a fires" wait_creates wf-dev 2
check "feature/b is kept" \
	wait_for_log "$G" "queued push of a refs/heads/feature/b: cannot read it: .*; kept"
check "kept: still spooled" test "$(spooled)" = 1
check "kept: the file holds only feature/b" \
	bash -c "! grep -aq 'refs/heads/feature/a' '$F' && grep -aq 'refs/heads/feature/b' '$F'"
check "kept: the file keeps the config and the push options" \
	bash -c "grep -aq '$CFG' '$F' && grep -aq 'oci.note=x' '$F'"
check "kept: the file keeps its age" test "$(stat -c %Y "$F")" = "$before"
check "feature/a's note" wait_note "$G" "$a" "^passed wf-dev #2 "
# rounds go by, state_keep (1s) passes: feature/a is not sent again
sleep 4
check "rounds later: feature/a was recorded once" \
	test "$(grep -c 'a refs/heads/feature/a .*rule(s) fired' "$S/poller.log")" = 1
check "rounds later: feature/a was sent once" test "$(creates wf-dev)" = 2
check "rounds later: no temporary file left" \
	test -z "$(find "$S/spool" -maxdepth 1 -name 'tmp-*')"

# feature/b's commit arrives: it fires, the file goes
git -C "$W" push -q origin HEAD:refs/heads/nomatch-b 2>/dev/null
check "feature/b fires once readable" wait_creates wf-dev 3
check "feature/b's note" wait_note "$G" "$b" "^passed wf-dev #3 "
check "taken: the spool is empty" test "$(spooled)" = 0

hook_finish
