#!/bin/bash
# A poller that runs for long, as an admin meets it: its poller.log
# rotated under it (renamed away, or copied and truncated) is followed by
# a new file of that name; an upgrade that replaces its program makes it
# hand over to the new one, and a store a newer zadig-hook changed makes
# it exit.
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

# ---- an upgrade replaces the program under a running poller ----
mkdir -p "$T/bin"
cp "$(command -v zadig-hook)" "$T/bin/zadig-hook"
new_repo up "$CFG"
run "$T/bin/zadig-hook" install "$T/up.git" --config "$CFG"
expect "install from \$T/bin" 0 "updated"
git -C "$T/up" checkout -q -b slow/2
hrun git -C "$T/up" push origin slow/2
expect "up: a task that never ends" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
old=$(poller_of "$T/up.git")
check "up: its poller runs" test -n "$old"
check "up: the poller is at work" wait_locked "$T/up.git/zadig-hook/poller.lock"
check "up: the poller runs the program in \$T/bin" \
	test "$(readlink "/proc/$old/exe")" = "$T/bin/zadig-hook"
# as install(1) and package managers do: a new file renamed over the old
cp "$(command -v zadig-hook)" "$T/bin/zadig-hook.new"
mv -f "$T/bin/zadig-hook.new" "$T/bin/zadig-hook"
check "upgraded: the old poller logs why it goes" \
	wait_for_log "$T/up.git" "'$T/bin/zadig-hook' was replaced since this poller started: the new one takes over" 10
# gone_from PID GIT-DIR: until PID is no poller of GIT-DIR; 1 on timeout
gone_from() {
	local i
	for i in $(seq 100); do
		pollers "$2" | grep -qx "$1" || return 0
		sleep 0.1
	done
	return 1
}
check "upgraded: the old poller exits" gone_from "$old" "$T/up.git"
new=$(poller_of "$T/up.git")
check "upgraded: a new poller runs" test -n "$new" -a "$new" != "$old"
check "upgraded: the new poller runs the new program" \
	test "$(readlink "/proc/$new/exe")" = "$T/bin/zadig-hook"
check "upgraded: the new poller is at work" wait_locked "$T/up.git/zadig-hook/poller.lock"
tid=$(grep -o 'wf-slow-build #[0-9]*' "$T/err" | head -n 1 | tr -dc 0-9)
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${tid:-0},\"status\":\"passed\"}" >/dev/null
check "upgraded: the new poller follows the task to its end" \
	wait_note "$T/up.git" slow/2 "^passed wf-slow-build #$tid " 15
check "upgraded: and exits once nothing is pending" wait_pollers 20 "$T/up.git"

# ---- a versioned layout: the hook runs a link an upgrade repoints ----
# /usr/local/bin/zadig-hook -> /opt/zadig-hook/<version>/zadig-hook: the
# hook runs the link, the poller the file it resolves to
V=$T/opt
mkdir -p "$V/v1" "$V/v2" "$V/v3" "$T/lbin"
for v in v1 v2 v3; do cp "$(command -v zadig-hook)" "$V/$v/zadig-hook"; done
ln -s "$V/v1/zadig-hook" "$T/lbin/zadig-hook"
new_repo ver "$CFG"
run "$T/lbin/zadig-hook" install "$T/ver.git" --config "$CFG"
expect "ver: installed by the link" 0 "updated"
check "ver: the hook runs the link" \
	grep -qxF "z='$T/lbin/zadig-hook'" "$T/ver.git/hooks/post-receive"
git -C "$T/ver" checkout -q -b slow/v
hrun git -C "$T/ver" push origin slow/v
expect "ver: a task that never ends" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
vtid=$(grep -o 'wf-slow-build #[0-9]*' "$T/err" | head -n 1 | tr -dc 0-9)
v1p=$(poller_of "$T/ver.git")
check "ver: the poller runs v1" \
	test -n "$v1p" -a "$(readlink "/proc/$v1p/exe")" = "$V/v1/zadig-hook"
check "ver: the poller is at work" wait_locked "$T/ver.git/zadig-hook/poller.lock"
# the link points at v2, v1 stays
ln -sfn "$V/v2/zadig-hook" "$T/lbin/zadig-hook"
check "repointed (v1 kept): the old poller says who takes over" \
	wait_for_log "$T/ver.git" "'$T/lbin/zadig-hook' is '$V/v2/zadig-hook' now, no longer this poller's '$V/v1/zadig-hook': the new one takes over" 10
check "repointed (v1 kept): the old poller exits" gone_from "$v1p" "$T/ver.git"
v2p=$(poller_of "$T/ver.git")
check "repointed (v1 kept): the new poller runs v2" \
	test -n "$v2p" -a "$(readlink "/proc/${v2p:-0}/exe")" = "$V/v2/zadig-hook"
check "repointed (v1 kept): the new poller is at work" \
	wait_locked "$T/ver.git/zadig-hook/poller.lock"
# the link points at v3, and v2 is removed at once
ln -sfn "$V/v3/zadig-hook" "$T/lbin/zadig-hook"
rm -rf "$V/v2"
check "repointed, v2 removed: the old poller hands over" \
	wait_for_log "$T/ver.git" "'$T/lbin/zadig-hook' is '$V/v3/zadig-hook' now, no longer this poller's '$V/v2/zadig-hook': the new one takes over" 10
check "repointed, v2 removed: the old poller exits" gone_from "$v2p" "$T/ver.git"
v3p=$(poller_of "$T/ver.git")
check "repointed, v2 removed: the new poller runs v3" \
	test -n "$v3p" -a "$(readlink "/proc/${v3p:-0}/exe")" = "$V/v3/zadig-hook"
check "no poller logged that it was removed" \
	bash -c "! grep -q 'was removed since' '$T/ver.git/zadig-hook/poller.log'"
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${vtid:-0},\"status\":\"passed\"}" >/dev/null
check "v3 follows the task to its end" \
	wait_note "$T/ver.git" slow/v "^passed wf-slow-build #$vtid " 15
check "v3 exits once nothing is pending" wait_pollers 20 "$T/ver.git"

# ---- a newer zadig-hook changed the store's schema ----
git -C "$T/up" checkout -q -b slow/3
hrun git -C "$T/up" push origin slow/3
expect "up: another task that never ends" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
p3=$(poller_of "$T/up.git")
check "up: a poller runs" test -n "$p3"
check "up: the poller is at work" wait_locked "$T/up.git/zadig-hook/poller.lock"
sqlite3 -cmd ".timeout 5000" "$T/up.git/zadig-hook/state.db" 'PRAGMA user_version = 999'
check "a newer schema: the poller says so" \
	wait_for_log "$T/up.git" "has schema version 999, newer than this poller knows \([0-9]+\): exiting" 10
check "a newer schema: the poller exits (and starts none)" wait_pollers 10 "$T/up.git"
check "a newer schema: no lock held" bash -c "flock -n '$T/up.git/zadig-hook/poller.lock' true"
sqlite3 -cmd ".timeout 5000" "$T/up.git/zadig-hook/state.db" "PRAGMA user_version = $(sqlite3 "$T/app.git/zadig-hook/state.db" 'PRAGMA user_version')"
run zadig-hook uninstall "$T/up.git" --purge
expect "up: purged (its task never ends)" 0 "removed"

hook_finish
