#!/bin/bash
# A push the async hook spooled is not lost when the poller cannot take it
# yet (the repository cannot be opened for now: moved, another owner,
# EMFILE): the file stays and is taken once it can be, where the poller
# deleted it. A file that is not a spool file, and one still failing
# poll.give_up_after after a poller first failed to take it, is set aside
# in spool/failed/, said once.
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
# take_spool: a poller that only takes the spool (as 'git zadig sync'
# runs it), from repository b, which shares the state directory
take_spool() {
	run zadig-hook poll --git-dir "$T/b.git" --spool
}
# wait_log PATTERN: until the shared poller.log holds PATTERN (10 s)
wait_log() {
	wait_in_file "$S/poller.log" "$1"
}

# the poller lock held: the hook's own poller leaves the spool alone
mkdir -p "$S"
exec 9>>"$S/poller.lock"
flock -n 9 || not_ok "the test takes the poller lock"
hrun git -C "$T/a" push origin main
expect "spooled" 0 "" "refs/heads/main queued \\(async\\)"
check "the hook's poller leaves the spool to the lock's holder" wait_pollers 20
check "one push spooled" test "$(spooled)" = 1
exec 9>&-

# ---- the repository cannot be opened for now: the push stays ----
mv "$T/a.git" "$T/a.away"
take_spool
expect "unopenable: the poller says why" 0 "" "a.git.*kept"
check "unopenable: the push stays spooled" test "$(spooled)" = 1
check "unopenable: not set aside" test "$(failed)" = 0
# a poller at work keeps trying each round, and says so once
zadig-hook poll --git-dir "$T/b.git" 2>>"$S/poller.log" &
sleep 2
check "unopenable, rounds later: said once per poller" \
	test "$(grep -c 'a.git.*kept' "$S/poller.log")" = 1
check "unopenable, rounds later: still spooled" test "$(spooled)" = 1
mv "$T/a.away" "$T/a.git"
check "openable again: the running poller takes it" \
	wait_log "a refs/heads/main .*rule\\(s\\) fired"
check "taken: the spool is empty" test "$(spooled)" = 0
check "taken: delivered, one create" wait_creates wf-dev 1
check "taken: the poller exits" wait_pollers 20

# ---- not a spool file: set aside at once, said ----
printf 'garbage\n' >"$S/spool/0000000000000000000-1-00000000.push"
take_spool
expect "garbage: said" 0 "" "not a spool file; set aside as '$S/spool/failed/"
check "garbage: out of the spool" test "$(spooled)" = 0
check "garbage: kept in spool/failed/" \
	test "$(cat "$S/spool/failed/0000000000000000000-1-00000000.push")" = garbage

# ---- a commit that cannot be read (gone in a gc, a pack not there yet):
# the push stays ----
printf 'zadig-hook spool 1\ng%s\0u%040d %s refs/heads/main\0' "$T/a.git" 0 \
	"$(printf 'de%.0s' $(seq 20))" >"$S/spool/0000000000000000001-1-00000000.push"
take_spool
expect "unreadable commit: said" 0 "" "queued push of a refs/heads/main: cannot read it: .*; kept"
check "unreadable commit: still spooled" test "$(spooled)" = 1

# ---- still failing poll.give_up_after after the first failure a poller
# saw (1s here): set aside, said ----
exec 9>>"$S/poller.lock"
flock -n 9 || not_ok "the test takes the poller lock again"
commit "$T/a" "second"
hrun git -C "$T/a" push origin main
check "the second push's poller is done" wait_pollers 20
exec 9>&-
check "the second push is spooled" test "$(spooled)" = 2
mv "$T/a.git" "$T/a.away"
sed 's/give_up_after: 5m/give_up_after: 1s/' "$CFG" >"$T/short.yaml"
zadig-hook poll --git-dir "$T/b.git" --config "$T/short.yaml" \
	2>>"$S/poller.log" &
check "given up: said" \
	wait_log "a.git.*still failing after poll.give_up_after: set aside as '$S/spool/failed/"
check "given up: the poller exits" wait_pollers 20
check "given up: out of the spool" test "$(spooled)" = 0
check "given up: both kept in spool/failed/" test "$(failed)" = 3
mv "$T/a.away" "$T/a.git"

hook_finish
