#!/bin/bash
# A poller that runs for long, as an admin meets it: its poller.log
# rotated under it (renamed away, or copied and truncated) is followed by
# a new file of that name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
cp "$CFG" "$T/good.yaml"
Z="remote: zadig:"

# a task that never ends keeps the poller running
new_repo app "$CFG"
G=$T/app.git
LOG=$G/zadig-hook/poller.log
git -C "$T/app" checkout -q -b slow/1
hrun git -C "$T/app" push origin slow/1
expect "a push whose task never ends" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
pid=$(poller_of "$G")
check "its poller runs" test -n "$pid"

# locked FILE: whether a process holds the flock on FILE
locked() {
	! flock -n "$1" true
}
# wait_locked FILE: until a process holds the flock on FILE; 1 on timeout
wait_locked() {
	local i
	for i in $(seq 100); do
		locked "$1" && return 0
		sleep 0.1
	done
	return 1
}
# a poller reads the configuration before it takes the lock
check "the poller is at work (it holds the lock)" \
	wait_locked "$G/zadig-hook/poller.lock"

# break_config N: a configuration error the poller logs once (each N its
# own line), then the good file back
break_config() {
	printf 'zadig:\n  url: %s\n  token: t\n  bogus%s: 1\n' "$FAKE_URL" "$1" >"$CFG"
}

# ---- plain rotation: renamed away, nothing at the name ----
check "the poller logs to poller.log" test -f "$LOG"
mv "$LOG" "$LOG.1"
break_config 1
check "after a rename: the poller logs to a new poller.log" \
	wait_in_file "$LOG" "unknown key 'bogus1'" 10
check "after a rename: nothing more goes to the old file" \
	bash -c "! grep -q bogus1 '$LOG.1'"
check "the new poller.log is 0600" test "$(stat -c %a "$LOG")" = 600
check "the same poller still runs" test "$(poller_of "$G")" = "$pid"
cp "$T/good.yaml" "$CFG"

# ---- logrotate's create: renamed, and a new empty file put there ----
mv "$LOG" "$LOG.2"
: >"$LOG"
chmod 0600 "$LOG"
break_config 2
check "after rename and create: the poller logs to the new file" \
	wait_in_file "$LOG" "unknown key 'bogus2'" 10
check "after rename and create: not to the old one" \
	bash -c "! grep -q bogus2 '$LOG.2'"
cp "$T/good.yaml" "$CFG"

# ---- copytruncate: the same file, emptied ----
cp "$LOG" "$LOG.3"
: >"$LOG"
break_config 3
check "after copytruncate: the poller logs to poller.log" \
	wait_in_file "$LOG" "unknown key 'bogus3'" 10
check "after copytruncate: the file starts with the new line (no hole)" \
	bash -c "head -c 4 '$LOG' | grep -q '^20'"
cp "$T/good.yaml" "$CFG"
check "the same poller ran throughout" test "$(poller_of "$G")" = "$pid"

kill "$pid" 2>/dev/null
hook_finish
