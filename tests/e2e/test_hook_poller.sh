#!/bin/bash
# The detached poller's life: it stays as long as work younger than
# poll.give_up_after is pending, however long it has run itself, then
# exits; and a push whose own poller found the lock held by a poller on
# its way out is not left without one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"

# etimes PID: the seconds PID has run
etimes() {
	ps -o etimes= -p "$1" 2>/dev/null | tr -d ' '
}

# runs_for PID SECONDS: until PID has run that long; 1 when it exits first
runs_for() {
	local t
	while kill -0 "$1" 2>/dev/null; do
		t=$(etimes "$1")
		[ -n "$t" ] && [ "$t" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# wait_file FILE [SECONDS]: until FILE exists; 1 on timeout.
wait_file() {
	local i
	for i in $(seq $((${2:-10} * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# only_poller GIT-DIR PID: until PID is GIT-DIR's only poller; 1 on
# timeout (20 s).
only_poller() {
	local i
	for i in $(seq 200); do
		[ "$(pollers "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# task_id OUTPUT-FILE RULE WORKFLOW: the id the hook said RULE created
task_id() {
	sed -nE "s/^$Z $2: $3 #([0-9]+) created.*/\\1/p" "$1"
}

# ---- a poller outlives its first tasks while newer work is pending ----
# give_up_after 20s: the poller started by the slow push used to stop at
# its start + give_up_after + max_interval (21 s) whatever was pending
hook_config "$T/life.yaml" "$FAKE_URL"
sed -i 's/^  give_up_after: 5m$/  give_up_after: 20s/' "$T/life.yaml"
new_repo life "$T/life.yaml"
G=$T/life.git
W=$T/life
hrun git -C "$W" push origin main:slow/a
expect "life: a task that never ends" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
P=$(poller_of "$G")
check "life: its poller runs" test -n "$P"
check "life: 12 s later the poller still runs" runs_for "$P" 12
# the next task runs until the control plane ends it
fake_ctl POST config '{"steps":1000}' >/dev/null
commit "$W" "pushed 12 s into the poller's life"
hrun git -C "$W" push origin HEAD:feature/z
expect "life: a newer task" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
id=$(task_id "$T/err" dev wf-dev)
check "life: the first task is given up after 20 s" \
	wait_note "$G" slow/a "^unknown wf-slow-build " 20
check "life: the poller runs on past its start + give_up_after + max_interval" \
	runs_for "$P" 24
check "life: ... while the newer task is pending" \
	test "$(note "$G" feature/z | cut -d' ' -f1)" = running
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-dev\",\"task_id\":$id,\"status\":\"passed\"}" >/dev/null
fake_ctl POST config '{"steps":2}' >/dev/null
check "life: the newer task's end is noted" \
	wait_note "$G" feature/z "^passed wf-dev #$id " 10
check "life: then nothing is pending and the poller exits" \
	wait_pollers 10 "$G"

# ---- the bound: a trigger Zadig never takes keeps no poller forever ----
hook_config "$T/down.yaml" "http://127.0.0.1:$(closed_port)"
sed -i 's/^  give_up_after: 5m$/  give_up_after: 3s/' "$T/down.yaml"
new_repo down "$T/down.yaml"
G=$T/down.git
hrun git -C "$T/down" push origin main
expect "bound: zadig down, queued" 0 "" "^$Z dev: queued, cannot reach zadig"
check "bound: the poller retries it" \
	wait_for_log "$G" "still queued: cannot reach zadig" 10
check "bound: once the trigger is older than give_up_after + max_interval the poller exits" \
	wait_pollers 30 "$G"
check "bound: saying what it leaves" \
	grep -q "the queued triggers wait for the next push or 'git zadig sync'" \
	"$G/zadig-hook/poller.log"
check "bound: the note still says queued" \
	test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"
# Zadig back: 'git zadig sync' delivers it, and a poller follows the task
# to its end (sync used to leave it 'running' until the next push)
sed -i "s|^  url: .*|  url: $FAKE_URL|" "$T/down.yaml"
fake_ctl POST config '{"steps":3}' >/dev/null
run_in "$G" git zadig sync
expect "bound: sync delivers the queued trigger" 0 "^delivered 1 trigger, polled 1 task, updated 1 note$"
check "bound: after sync, a poller follows the task to its end" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$" 20
check "bound: then it exits" wait_pollers 20 "$G"
fake_ctl POST config '{"steps":2}' >/dev/null

# ---- a note a locked notes ref keeps from being written ----
# the task ends within a second, its note cannot be written: the poller
# used to exit three tries later (nothing it counted was pending), and
# nothing wrote the note until the next push or `git zadig sync`
# lock_count GIT-DIR: the poller's "is locked" lines so far
lock_count() {
	grep -c "notes ref 'refs/notes/zadig' is locked" \
		"$1/zadig-hook/poller.log" 2>/dev/null || true
}
hook_config "$T/lock.yaml" "$FAKE_URL"
sed -i 's/^  max_interval: 1s$/  max_interval: 4s/' "$T/lock.yaml"
new_repo lock "$T/lock.yaml"
G=$T/lock.git
mkdir -p "$G/refs/notes"
touch "$G/refs/notes/zadig.lock" # a git writing it, or killed just now
hrun git -C "$T/lock" push origin main
expect "locked notes: the task is created" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
id=$(task_id "$T/err" dev wf-dev)
P=$(poller_of "$G")
check "locked notes: its poller runs" test -n "$P"
check "locked notes: the poller cannot write the note" \
	wait_for_log "$G" "is locked: 'refs/notes/zadig.lock' exists" 10
check "locked notes: the poller stays while the note is unwritten" \
	runs_for "$P" 8
# a try costs ~0.6 s (the notes code's own quick retries); between them
# the poller waits poll.interval doubling to poll.max_interval (4 s)
n=$(lock_count "$G")
sleep 3
n=$(($(lock_count "$G") - n))
check "locked notes: backing off, not a try every poll.interval ($n in 3 s)" \
	test "$n" -le 1
# the killed writer's lock turns 5 minutes old: the poller removes it
touch -d '10 minutes ago' "$G/refs/notes/zadig.lock"
check "locked notes: once the lock is stale the poller writes the note" \
	wait_note "$G" main "^passed wf-dev #$id .*rule=dev$" 10
check "locked notes: the stale lock is gone" \
	test ! -e "$G/refs/notes/zadig.lock"
check "locked notes: then the poller exits" wait_pollers 10 "$G"

# the bound: a note still unwritten poll.give_up_after after its last
# change keeps no poller (a lock younger than 5 minutes, give_up_after 3s)
hook_config "$T/lockb.yaml" "$FAKE_URL"
sed -i 's/^  give_up_after: 5m$/  give_up_after: 3s/' "$T/lockb.yaml"
new_repo lockb "$T/lockb.yaml"
G=$T/lockb.git
mkdir -p "$G/refs/notes"
touch "$G/refs/notes/zadig.lock"
hrun git -C "$T/lockb" push origin main
expect "locked notes, bound: the task is created" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "locked notes, bound: the poller exits after give_up_after + max_interval" \
	wait_pollers 30 "$G"
check "locked notes, bound: saying what it leaves" \
	grep -q "the unwritten notes wait for the next push or 'git zadig sync'" \
	"$G/zadig-hook/poller.log"
rm -f "$G/refs/notes/zadig.lock"
run_in "$G" git zadig sync
expect "locked notes, bound: sync writes the note" 0 "updated 1 note$"
check "locked notes, bound: the note says passed" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$" 1

# ---- the hand-off: a push made while the poller is on its way out ----
# gdb holds the poller where it has found nothing pending and is about to
# let go of its lock; a sync push then records a task and starts a
# poller, which finds the lock held and leaves the task to its holder
handoff() {
	local G=$T/hand.git W=$T/hand gdb_pid id
	hook_config "$T/hand.yaml" "$FAKE_URL"
	new_repo hand "$T/hand.yaml"
	fake_ctl POST config '{"steps":1000}' >/dev/null
	hrun git -C "$W" push origin main
	expect "hand-off: a first task keeps a poller" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
	id=$(task_id "$T/err" dev wf-dev)
	P=$(poller_of "$G")
	check "hand-off: its poller runs" test -n "$P"
	timeout 120 gdb -q -batch -p "$P" \
		-ex 'break zh_store_unlock_poller' \
		-ex "shell touch '$T/attached'" \
		-ex continue \
		-ex "shell touch '$T/at-exit'; i=0; while [ ! -e '$T/go' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done" \
		-ex delete -ex detach >"$T/gdb.log" 2>&1 &
	gdb_pid=$!
	check "hand-off: gdb holds the poller" wait_file "$T/attached" 60
	fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-dev\",\"task_id\":$id,\"status\":\"passed\"}" >/dev/null
	fake_ctl POST config '{"steps":2}' >/dev/null
	check "hand-off: the task ends and the poller is on its way out" \
		wait_file "$T/at-exit" 30
	commit "$W" "pushed while the poller lets go"
	hrun git -C "$W" push origin HEAD:feature/h
	expect "hand-off: the push creates a task" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
	check "hand-off: the push's own poller exits on the held lock" \
		only_poller "$G" "$P"
	touch "$T/go"
	wait "$gdb_pid"
	check "hand-off: the poller that was on its way out takes the task" \
		wait_note "$G" feature/h "^passed wf-dev #[0-9]+ .*rule=dev$" 15
	check "hand-off: then it exits" wait_pollers 20 "$G"
}
sleep 30 &
probe=$!
if ! command -v gdb >/dev/null ||
	! gdb -q -batch -ex 'info address zh_store_unlock_poller' \
		"$(command -v zadig-hook)" 2>&1 | grep -q 'is a function' ||
	! gdb -q -batch -p "$probe" -ex 'info proc' 2>&1 | grep -q "^process $probe"; then
	ok "hand-off: skipped (needs gdb, symbols and ptrace)"
else
	handoff
fi
kill "$probe"

# ---- the repository moved away under its poller ----
hook_config "$T/mv.yaml" "$FAKE_URL"
new_repo mv "$T/mv.yaml"
git -C "$T/mv" checkout -q -b slow/mv
hrun git -C "$T/mv" push origin slow/mv
expect "moved: a task that runs on" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
mid=$(task_id "$T/err" slow wf-slow-build)
P=$(poller_of "$T/mv.git")
check "moved: its poller runs" test -n "$P"
# moved, keeping its name (without hook.repo_root, its directory's)
check "moved: its poller runs a while first" runs_for "$P" 2
mkdir "$T/elsewhere"
mv "$T/mv.git" "$T/elsewhere/mv.git"
check "moved: the poller says so and stops" \
	wait_for_log "$T/elsewhere/mv.git" "$T/mv.git/? is gone \(moved or deleted\): this poller stops" 10
check "moved: ... and exits" bash -c "for i in \$(seq 100); do kill -0 $P 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${mid:-0},\"status\":\"passed\"}" >/dev/null
git -C "$T/mv" remote set-url origin "file://$T/elsewhere/mv.git"
commit "$T/mv" "pushed into the new place"
hrun git -C "$T/mv" push origin HEAD:feature/mv
expect "moved: a push in the new place" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "moved: its poller notes the task the old one followed" \
	wait_note "$T/elsewhere/mv.git" slow/mv "^passed wf-slow-build #$mid " 15

hook_finish
