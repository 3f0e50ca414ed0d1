#!/bin/bash
# Setting spooled pushes aside (spool/failed/): a file the poller cannot
# move is said once per poller, where every round said it again; a file
# already older than poll.give_up_after when a poller first fails to take
# it (no poller ran for days) is tried again for poll.give_up_after from
# that failure, where it was set aside at once on a failure that may
# pass; and a file set aside is queued again by moving it back into the
# spool directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/async.yaml
S=$T/state
hook_config "$CFG" "$FAKE_URL" async 5s "state_dir: $S"
new_repo a "$CFG"
new_repo b "$CFG"
spooled() { find "$S/spool" -maxdepth 1 -name '*.push' 2>/dev/null | wc -l; }
failed() { find "$S/spool/failed" -type f 2>/dev/null | wc -l; }
take_spool() {
	run zadig-hook poll --git-dir "$T/b.git" --spool
}
# wait_log PATTERN: until the shared poller.log holds PATTERN (10 s)
wait_log() {
	wait_in_file "$S/poller.log" "$1"
}

# ---- a file that cannot be set aside (spool/failed is a file): said
# once per poller, moved once it can be ----
mkdir -p "$S/spool"
: >"$S/spool/failed"
printf 'garbage\n' >"$S/spool/0000000000000000000-1-00000000.push"
zadig-hook poll --git-dir "$T/b.git" 2>>"$S/poller.log" &
check "cannot move: said" wait_log "not a spool file; cannot set it aside as '$S/spool/failed/.*': Not a directory; kept"
sleep 2
check "cannot move, rounds later: said once" \
	test "$(grep -c 'cannot set it aside' "$S/poller.log")" = 1
check "cannot move: still there" test "$(spooled)" = 1
rm "$S/spool/failed"
check "movable again: set aside" wait_log "not a spool file; set aside as '$S/spool/failed/"
check "movable again: out of the spool" test "$(spooled)" = 0
check "movable again: the poller exits" wait_pollers 20

# ---- a push older than poll.give_up_after at its first failure: kept ----
hrun git -C "$T/a" push origin main
check "a's push taken" wait_creates wf-dev 1
check "a's poller exits" wait_pollers 20
commit "$T/a" "second"
c=$(git -C "$T/a" rev-parse HEAD)
git -C "$T/a" push -q origin HEAD:refs/heads/nomatch-x 2>/dev/null
# that push's poller must be gone before the file below is written and
# a.git moved: it would take the file itself, racing the move (libgit2
# 1.5 leaks what it had read of a repository renamed under it)
check "nomatch push: its poller exits" wait_pollers 20
F=0000000000000000002-1-00000000.push
printf 'zadig-hook spool 1\ng%s\0u%s %s refs/heads/main\0' "$T/a.git" \
	"$(git -C "$T/a" rev-parse HEAD~1)" "$c" >"$S/spool/$F"
touch -d '-10 minutes' "$S/spool/$F"
mv "$T/a.git" "$T/a.away"
take_spool
expect "old, first failure: kept" 0 "" "a.git.*kept"
check "old, first failure: not set aside" test "$(failed)" = 1
check "old, first failure: still spooled" test "$(spooled)" = 1

# ---- still failing poll.give_up_after after a poller's first failure:
# set aside ----
sed 's/give_up_after: 5m/give_up_after: 1s/' "$CFG" >"$T/short.yaml"
zadig-hook poll --git-dir "$T/b.git" --config "$T/short.yaml" 2>>"$S/poller.log" &
check "given up: set aside" \
	wait_log "a.git.*still failing after poll.give_up_after: set aside as '$S/spool/failed/$F'"
check "given up: out of the spool" test "$(spooled)" = 0
check "given up: in spool/failed/" test -f "$S/spool/failed/$F"
check "given up: the poller exits" wait_pollers 20

# ---- queued again: moved back into the spool ----
mv "$T/a.away" "$T/a.git"
mv "$S/spool/failed/$F" "$S/spool/"
run_in "$T/a.git" git zadig sync
expect "queued again: git zadig sync takes it" 0 "" \
	"a refs/heads/main ${c:0:12}: 1 rule\\(s\\) fired"
check "queued again: the spool is empty" test "$(spooled)" = 0
check "queued again: sent" wait_creates wf-dev 2
check "queued again: its note" wait_note "$T/a.git" "$c" "^passed wf-dev #2 "

hook_finish
