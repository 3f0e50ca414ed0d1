#!/bin/bash
# The wall clock set back (NTP fixing a clock an hour fast) after the
# store recorded times by it: the store keeps wall-clock times (several
# processes, reboots), so a retry due "in a second" by the fast clock is
# due in an hour and a second by the fixed one. Such a time, further
# ahead than zadig-hook ever sets one, counts as now: the poller and
# `git zadig sync` try the trigger at once. And `git zadig sync` says so,
# and exits 1, for a trigger still queued that it did not try (another
# process is sending it). The clock is set off per process by an
# LD_PRELOAD shim (tests/e2e/clockshift.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

: "${ZH_CLOCKSHIFT:?ZH_CLOCKSHIFT must name the clockshift shim}"

# fast CMD...: CMD on a host whose clock is an hour fast
fast() {
	LD_PRELOAD=$ZH_CLOCKSHIFT ZH_CLOCK_OFFSET=3600 \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		"$@"
}

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
# no poller of the hook's: the test runs them
sed -i 's/^  mode: sync$/  mode: sync\n  poll: false/' "$CFG"
new_repo app "$CFG"
W=$T/app
G=$T/app.git
Z="remote: zadig:"
# Zadig's own error: the trigger stays queued, retried after its back-off
busy() {
	fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","status":500,"body":"{\"code\":6000,\"message\":\"busy\",\"description\":\"try later\"}","times":1}' >/dev/null
}

run fast date +%s
check "the shim sets the clock an hour ahead" \
	test $((OUT - $(date +%s))) -ge 3590

# ---- git zadig sync after the clock was set back ----
busy
hrun fast git -C "$W" push origin main
expect "push with the clock an hour fast: queued" 0 "" \
	"$Z dev: queued, .*busy"
run_in "$G" git zadig sync
expect "git zadig sync, the clock set back: the trigger is sent" 0 \
	"^delivered 1 trigger, "
check "one task made in all" test "$(creates wf-dev 200)" = 1

# ---- the poller after the clock was set back ----
busy
git -C "$W" checkout -q -b feature/a
commit "$W" "feature a"
hrun fast git -C "$W" push origin feature/a
expect "second push, clock an hour fast: queued" 0 "" "$Z dev: queued"
# a poller started after the step: the retry is due at once, not in an
# hour (it exits once the task has ended)
run timeout 30 zadig-hook poll --git-dir "$G"
expect "the poller, the clock set back: it ends" 0
check "the poller sent it" test "$(creates wf-dev 200)" = 2
check "and noted it" wait_note "$G" feature/a "^passed wf-dev #2 "

# ---- git zadig sync: a trigger it does not try is still queued ----
busy
git -C "$W" checkout -q -b feature/b
commit "$W" "feature b"
hrun git -C "$W" push origin feature/b
expect "third push: queued" 0 "" "$Z dev: queued"
# another process claimed it and is sending it now (its lease: twice
# zadig.timeout plus 5 s)
sqlite3 "$G/zadig-hook/state.db" "UPDATE triggers SET state = 'sending', \
	attempts = attempts + 1, lease_until_ms = $(($(now_ms) + 9000)) \
	WHERE state = 'queued'"
run_in "$G" git zadig sync
expect "sync, a trigger another process sends: exit 1" 1 \
	"^delivered 0 triggers, " \
	"^git-zadig: app/dev: still queued, not tried: another process is sending it \\(its claim ends in [0-9]+s\\)"
expect "sync, a trigger another process sends: counted" 1 "" \
	"^git-zadig: error: 1 trigger still queued"
# its sender died: the claim ends, and the next sync takes it over
sqlite3 "$G/zadig-hook/state.db" "UPDATE triggers SET lease_until_ms = 1 \
	WHERE state = 'sending'"
run_in "$G" git zadig sync
expect "sync after the claim ended: sent" 0 "^delivered 1 trigger, "

# ---- a poller running while the clock is set back ----
# It sleeps between rounds until a wall-clock time: measured as such, a
# step back an hour mid-sleep made it sleep an hour longer
git -C "$W" checkout -q -b slow/c
commit "$W" "slow c"
hrun git -C "$W" push origin slow/c
expect "a task that does not end: created" 0 "" "$Z slow: wf-slow-build #1 created"
echo 0 >"$T/offset"
LD_PRELOAD=$ZH_CLOCKSHIFT ZH_CLOCK_OFFSET_FILE=$T/offset \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	zadig-hook poll --git-dir "$G" 2>"$T/poller.err" &
POLLER=$!
# details: the fake's detail reads of the slow task so far
details() {
	requests
	grep -c '"path": "/api/directory/workflowTask/id/1/pipelines/wf-slow-build"' "$T/req.json"
}
# more_details N: until the fake got N more detail reads than now (20 s)
more_details() {
	local want=$(($(details) + $1))
	for _ in $(seq 200); do
		[ "$(details)" -ge "$want" ] && return 0
		sleep 0.1
	done
	return 1
}
check "the poller polls the task" more_details 2
echo -3600 >"$T/offset"
check "the clock set back an hour: it goes on polling" more_details 3
kill "$POLLER" 2>/dev/null
wait "$POLLER" 2>/dev/null

# (no hook started a poller: hook.poll is off)
check "no poller left" wait_pollers 5
finish
