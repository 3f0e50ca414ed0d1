#!/bin/bash
# The state store's disk full (issue 6): pushes still succeed and say
# why nothing was triggered; the receiver answers 503 to new events and
# to /healthz (GitLab redelivers them later) and nothing else breaks;
# once space is back the store is intact (PRAGMA integrity_check) and
# processing resumes: every event accepted before or redelivered after
# gets exactly one task.
#
# "Full" is RLIMIT_FSIZE 0 on the process (prlimit / ulimit -f) with
# SIGXFSZ ignored, so that every write to a file fails with EFBIG as
# writes to a full disk fail with ENOSPC: it needs no mount privilege.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/lib_rel.sh"

command -v prlimit >/dev/null || { echo "# SKIP: no prlimit"; exit 77; }
fake_start
Z="remote: zadig:"
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

# ---- the hook ----
CFG=$T/hook.yaml
hook_config "$CFG" "$FAKE_URL" sync 5s
sed -i 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' "$CFG"
new_repo app "$CFG"
W=$T/app
G=$T/app.git
hrun git -C "$W" push origin main
expect "hook: a push before the disk fills" 0 "" "^$Z dev: wf-dev #1 created"
# The hook runs with no room to write while $T/full exists (git itself
# does not: the push's objects and refs land as usual).
cat >"$G/hooks/post-receive" <<SH
#!/bin/sh
if [ -e "$T/full" ]; then
	trap '' XFSZ
	ulimit -f 0
fi
exec zadig-hook post-receive
SH
touch "$T/full"
baseline_push "$W"
commit "$W" "pushed onto a full disk"
FULLC=$(git -C "$W" rev-parse HEAD)
timed_push "$W" origin main
expect "hook, disk full: the push succeeds" 0 "" \
	"^$Z .*state store .*(full|too large).*; nothing triggered"
check "hook, disk full: the push is fast (${TOOK}ms, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 3000))
check "hook, disk full: the ref moved all the same" \
	test "$(git --git-dir="$G" rev-parse main)" = "$FULLC"
check "hook, disk full: nothing reached zadig" test "$(creates wf-dev)" = 1
rm -f "$T/full"
check "hook, space back: the store is intact" \
	test "$(sqlite3 "$G/zadig-hook/state.db" 'PRAGMA integrity_check')" = ok
commit "$W" "pushed after the disk was freed"
hrun git -C "$W" push origin main
expect "hook, space back: the next push triggers" 0 "" "^$Z dev: wf-dev #2 created"
run_in "$G" git zadig sync
expect "hook, space back: git zadig sync works" 0 "^delivered 0 triggers"
check "hook, space back: notes are written again" \
	test "$(note "$G" main | cut -d' ' -f1-3)" != ""

# ---- the receiver ----
RCFG=$T/webhook.yaml
load_config "$RCFG" "$T/state" 2 200ms 500ms
mkdir -p "$T/ev"
for i in $(seq 30); do
	load_event "$T/ev/$i.json" "$i" "$i" $((i + 100000))
done
# deliver I: one delivery; prints its status.
deliver() {
	gitlab "Push Hook" "$T/ev/$1.json" -H "Idempotency-Key: full-$1"
}
health() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$WH_URL/healthz"
}

# Its stderr goes through a pipe (a full disk must not hide the log), and
# it starts with SIGXFSZ ignored, as ignoring survives exec.
rm -f "$T/wh.port"
(
	trap '' XFSZ
	exec "$ZH_BIN/zadig-webhook" --config "$RCFG" --listen 127.0.0.1:0 \
		--port-file "$T/wh.port"
) 2> >(cat >>"$T/wh.err") &
WH_PID=$!
wait_until 10 test -s "$T/wh.port"
WH_PORT=$(cat "$T/wh.port")
WH_URL=http://127.0.0.1:$WH_PORT
check "receiver: healthz 200 before" test "$(health)" = 200
# events 1-10 accepted before the disk fills, while Zadig is slow: some
# are still being worked on when it does
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":300,"times":-1}' >/dev/null
for i in $(seq 10); do deliver "$i" >/dev/null; done
check "receiver: 10 events accepted before" test "$(cat "$T/code")" = 202
sleep 0.5
# the soft limit only: the hard one could not be raised again
prlimit --pid "$WH_PID" --fsize=0: || not_ok "prlimit on the receiver"
echo "# tasks when the disk filled: $(task_pairs | wc -l)"
check "receiver, disk full: healthz 503" test "$(health)" = 503
codes=
for i in $(seq 11 20); do codes="$codes $(deliver "$i")"; done
check "receiver, disk full: every new event 503 ($codes)" \
	test "$(echo $codes | tr ' ' '\n' | sort -u)" = 503
want "receiver, disk full: a JSON error" 503 '"error"'
gitlab "Push Hook" "$T/ev/1.json" -H "Idempotency-Key: full-1" >/dev/null
check "receiver, disk full: a delivery seen before is still a duplicate" \
	test "$(cat "$T/code")" = 200
sleep 1.5
check "receiver, disk full: still alive" kill -0 "$WH_PID"
check "receiver, disk full: says so in its log" \
	grep -qE "key=full-1[1-9] result=refused: .*state store" "$T/wh.err"
check "receiver, disk full: metrics count the refusals" \
	metric_ge 'zadig_webhook_events_rejected_total{reason="store"}' 10
FULL_LINES=$(wc -l <"$T/wh.err")

# space back
prlimit --pid "$WH_PID" --fsize=unlimited: || not_ok "prlimit back"
echo "# receiver log lines while the disk was full: $FULL_LINES"
check "receiver, space back: healthz 200" wait_until 10 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$WH_URL/healthz') = 200 ]"
# GitLab redelivers the 503s, and sends new events
codes=
for i in $(seq 11 30); do codes="$codes $(deliver "$i")"; done
check "receiver, space back: the redelivered and the new events accepted ($codes)" \
	test "$(echo $codes | tr ' ' '\n' | sort -u)" = 202
: >"$T/expected"
for i in $(seq 30); do printf 'wf-load %040x\n' "$i" >>"$T/expected"; done
check "receiver, space back: every event got its task" wait_secs 60 tasks_cover "$T/expected"
check "receiver, space back: no event got two" no_dup_tasks
check "receiver, space back: exactly 30 tasks" test "$(task_pairs | grep -c '^wf-load ')" = 30
DB=$T/state/state.db
check "receiver, space back: every event done" wait_until 20 bash -c \
	"[ \$(sqlite3 '$DB' \"SELECT count(*) FROM events WHERE state!='done'\") = 0 ]"
wh_stop TERM
check "receiver: SIGTERM exit 0" test "$WH_RC" = 0
check "receiver: the store is intact" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
check "receiver: no sanitizer report" sanitizer_clean "$T/wh.err"
[ -n "${ZH_DEBUG:-}" ] && sort "$T/wh.err" | uniq -c | sort -rn | head -40
finish
