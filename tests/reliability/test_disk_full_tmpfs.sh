#!/bin/bash
# A really full disk (issue 6): the state store on a small tmpfs that a
# filler file fills to the last byte (ENOSPC, what a full disk gives;
# test_disk_full.sh simulates it for every write with RLIMIT_FSIZE). The
# hook's pushes succeed and say why nothing was triggered; the receiver
# answers 503 to new events and to /healthz; once the filler is gone the
# store is intact, the refused events are accepted on redelivery and every
# event gets exactly one task.
#
# Needs to mount a tmpfs (root, as in CI); skipped otherwise.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/lib_rel.sh"

MNT=$T/small
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=4m,mode=0700 zh-test "$MNT" 2>/dev/null; then
	echo "# SKIP: cannot mount a tmpfs (not root?)"
	exit 77
fi
MOUNTS+=("$MNT")
fake_start
Z="remote: zadig:"
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

# fill: take every free byte of the tmpfs; unfill: give them back
fill() {
	dd if=/dev/zero of="$MNT/filler" bs=64k status=none 2>/dev/null
	dd if=/dev/zero of="$MNT/filler2" bs=1k status=none 2>/dev/null
	test "$(df --output=avail "$MNT" | tail -1 | tr -d ' ')" = 0
}
unfill() {
	rm -f "$MNT/filler" "$MNT/filler2"
}

# ---- the hook ----
CFG=$T/hook.yaml
hook_config "$CFG" "$FAKE_URL" sync 5s "state_dir: $MNT/hook"
sed -i 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' "$CFG"
new_repo app "$CFG"
W=$T/app
G=$T/app.git
hrun git -C "$W" push origin main
expect "hook: a push before the disk fills" 0 "" "^$Z dev: wf-dev #1 created"
baseline_push "$W"
check "the tmpfs is full" fill
commit "$W" "pushed onto a full disk"
FULLC=$(git -C "$W" rev-parse HEAD)
timed_push "$W" origin main
expect "hook, disk full: the push succeeds and says why" 0 "" \
	"^$Z .*(state store|disk).*"
check "hook, disk full: the push is fast (${TOOK}ms, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 3000))
check "hook, disk full: the ref moved all the same" \
	test "$(git --git-dir="$G" rev-parse main)" = "$FULLC"
unfill
check "hook, space back: the store is intact" \
	test "$(sqlite3 "$MNT/hook/state.db" 'PRAGMA integrity_check')" = ok
commit "$W" "pushed after the disk was freed"
hrun git -C "$W" push origin main
expect "hook, space back: the next push triggers" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
run_in "$G" git zadig sync
expect "hook, space back: git zadig sync works" 0 "^delivered [0-9]+ triggers"
check "hook: two tasks in all, none for the push onto the full disk" \
	test "$(creates wf-dev)" = 2

# ---- the receiver ----
RCFG=$T/webhook.yaml
load_config "$RCFG" "$MNT/state" 2 200ms 500ms
mkdir -p "$T/ev"
# event I: a push of its own commit to its own branch
event() {
	[ -s "$T/ev/$1.json" ] ||
		load_event "$T/ev/$1.json" "$1" $(($1 + 300000)) $(($1 + 200000))
}
deliver() {
	event "$1"
	gitlab "Push Hook" "$T/ev/$1.json" -H "Idempotency-Key: tmpfs-$1"
}
health() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$WH_URL/healthz"
}

wh_start "$RCFG"
check "receiver: healthz 200 before" test "$(health)" = 200
for i in $(seq 10); do deliver "$i" >/dev/null; done
check "receiver: 10 events accepted before" test "$(cat "$T/code")" = 202
check "receiver: the 10 got their tasks" wait_until 30 bash -c \
	"[ \$(curl -s '$FAKE_URL/__fake/tasks' | grep -c '\"workflow\": \"wf-load\"') -ge 10 ]"
# The store settled (every event done, every task final), then its WAL
# checkpointed and truncated: a WAL file already grown has room that
# SQLite reuses once a checkpoint has copied it all back, and that moment
# (it waits for the workers' readers) no test can predict. With the WAL
# empty when the disk fills, every write needs a new block.
settled() {
	test "$(sqlite3 "$MNT/state/state.db" "SELECT
		(SELECT count(*) FROM events WHERE state IN ('new', 'working')) +
		(SELECT count(*) FROM tasks WHERE final = 0) +
		(SELECT count(*) FROM triggers WHERE state IN ('queued', 'sending'))")" = 0
}
wal_truncated() {
	test "$(sqlite3 -cmd '.timeout 2000' "$MNT/state/state.db" \
		'PRAGMA wal_checkpoint(TRUNCATE)')" = "0|0|0" &&
		test "$(stat -c %s "$MNT/state/state.db-wal")" = 0
}
check "receiver: the store settled" wait_until 30 settled
check "receiver: its WAL checkpointed and truncated" wait_until 10 wal_truncated
check "the tmpfs is full" fill
# SQLite still takes what fits in the pages its files already hold (a
# 202 then is as durable as ever); new events get 503 once they do not
i=10
code=202
while [ "$code" != 503 ] && [ "$i" -lt 400 ]; do
	i=$((i + 1))
	code=$(deliver "$i")
	case $code in 202 | 503) ;; *) not_ok "receiver, disk full: event $i answered $code" ;; esac
done
N=$((i + 10))
echo "# disk full: the first 503 at event $i"
check "receiver, disk full: new events get 503" test "$code" = 503
want "receiver, disk full: a JSON error" 503 '"error"'
codes=
for i in $(seq $((i + 1)) "$N"); do codes="$codes $(deliver "$i")"; done
check "receiver, disk full: and keep getting it ($codes)" \
	test "$(echo $codes | tr ' ' '\n' | sort -u)" = 503
check "receiver, disk full: still alive" kill -0 "$WH_PID"
check "receiver, disk full: healthz 503" test "$(health)" = 503
unfill
check "receiver, space back: healthz 200" wait_until 10 bash -c \
	"[ \$(curl -s -o /dev/null -w '%{http_code}' '$WH_URL/healthz') = 200 ]"
# GitLab redelivers every event that got no 2xx; here: all of them
codes=
for i in $(seq "$N"); do codes="$codes $(deliver "$i")"; done
check "receiver, space back: every redelivery 200 (seen) or 202 (new)" \
	test -z "$(echo $codes | tr ' ' '\n' | grep -vE '^20[02]$')"
: >"$T/expected"
for i in $(seq "$N"); do printf 'wf-load %040x\n' $((i + 300000)) >>"$T/expected"; done
check "receiver, space back: every event got its task" wait_secs 60 tasks_cover "$T/expected"
check "receiver, space back: no event got two" no_dup_tasks
wh_stop TERM
check "receiver: SIGTERM exit 0" test "$WH_RC" = 0
check "receiver: the store is intact" \
	test "$(sqlite3 "$MNT/state/state.db" 'PRAGMA integrity_check')" = ok
check "receiver: no sanitizer report" sanitizer_clean "$T/wh.err"
finish
