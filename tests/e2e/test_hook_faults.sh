#!/bin/bash
# The hook when Zadig is down, slow, refuses the request or the token:
# the push never fails or hangs, nothing is lost, nothing is sent twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"

# sync_until GIT-DIR REV PATTERN [TRIES]: `git zadig sync` in GIT-DIR until
# the note of REV matches (tasks advance one step per read).
sync_until() {
	local i
	for i in $(seq "${4:-10}"); do
		(cd "$1" && git zadig sync >/dev/null 2>>"$T/sync.err")
		note "$1" "$2" | grep -qE -- "$3" && return 0
		sleep 0.3
	done
	return 1
}

# ---- Zadig down: queued at once, delivered once when it is back ----
# down.git has no poller (hook.poll: false): git zadig sync delivers
hook_config "$T/down.yaml" "http://127.0.0.1:$(closed_port)" sync 10s
sed -i 's/^  deadline: 10s$/  deadline: 10s\n  poll: false/' "$T/down.yaml"
new_repo down "$T/down.yaml"
G=$T/down.git
baseline_push "$T/down"
timed_push "$T/down" origin main
expect "zadig down: the push succeeds" 0 "" \
	"^$Z dev: queued, cannot reach zadig at http://127.0.0.1:1.*connection refused; will retry *$"
check "zadig down: the push is fast (${TOOK}ms, deadline 10s, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 3000))
check "zadig down: the note says queued" \
	test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"
check "zadig down: nothing reached the fake" test "$(creates wf-dev)" = 0
check "zadig down: hook.poll false starts no poller" test -z "$(pollers "$G")"
run_in "$G" git zadig sync
expect "zadig down: sync keeps it, and fails saying why" 1 "^delivered 0 triggers, " \
	"^git-zadig: down/dev: still queued: cannot reach zadig at http://127.0.0.1:1.*connection refused$"
check "zadig down: sync's error counts it" grep -q "^git-zadig: error: 1 trigger still queued" "$T/err"
check "zadig down: sync: still queued" \
	test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"
# Zadig is back: point the recorded config at it
sed -i "s|^  url: .*|  url: $FAKE_URL|" "$T/down.yaml"
run_in "$G" git zadig sync
expect "zadig back: git zadig sync in the bare repository" 0 "^delivered 1 trigger, "
check "zadig back: exactly one create" test "$(creates wf-dev)" = 1
check "zadig back: the note has the task" \
	wait_note "$G" main "^(created|running|passed) wf-dev #1 http://127.0.0.1:$FAKE_PORT/.* rule=dev$" 2
check "zadig back: the queued line is gone" bash -c "! git --git-dir='$G' notes --ref=zadig show main | grep -q queued"
check "zadig back: sync finishes it" sync_until "$G" main "^passed wf-dev #1 .*tests=24/24 rule=dev$"
run_in "$G" git zadig sync
expect "zadig back: a second sync sends nothing" 0 "^delivered 0 triggers"
check "zadig back: still exactly one create" test "$(creates wf-dev)" = 1

# down2.git: its poller, started while Zadig was down, reads the fixed
# config and delivers without any sync
hook_config "$T/down2.yaml" "http://127.0.0.1:$(closed_port)" sync 10s
new_repo down2 "$T/down2.yaml"
G=$T/down2.git
hrun git -C "$T/down2" push origin main
expect "zadig down (poller): queued" 0 "" "^$Z dev: queued, cannot reach zadig"
check "zadig down (poller): the poller keeps it" test -n "$(poller_of "$G")"
check "zadig down (poller): it retries" wait_for_log "$G" "still queued: cannot reach zadig" 5
sed -i "s|^  url: .*|  url: $FAKE_URL|" "$T/down2.yaml"
check "zadig back (poller): the running poller delivers and finishes it" \
	wait_note "$G" main "^passed wf-dev #2 .*tests=24/24 rule=dev$" 15
check "zadig back (poller): exactly one more create" test "$(creates wf-dev)" = 2

# ---- Zadig slow: the hook stops at its deadline; no second task ----
hook_config "$T/slow.yaml" "$FAKE_URL" sync 2s '
webhook:
  public_url: http://127.0.0.1:9/hooks
  secret: callback-secret'
# zadig.timeout 6s: the hook's own deadline (2s) cuts the request short;
# callbacks carry the commit, which the fake's commitId lookup needs
sed -i -e 's/^  timeout: 2s$/  timeout: 6s/' \
	-e 's/^      env: dev$/      env: dev\n      callback: true/' "$T/slow.yaml"
new_repo slow "$T/slow.yaml"
G=$T/slow.git
git -C "$T/slow" checkout -q -b feature/s
commit "$T/slow" "the second ref of a slow push"
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":5000,"times":1}' >/dev/null
n=$(creates wf-dev)
baseline_push "$T/slow"
timed_push "$T/slow" origin main feature/s
expect "zadig slow: the push succeeds" 0 "" "^$Z dev: queued, zadig did not answer within [0-9]+ms; will retry"
check "zadig slow: the other ref is left to the poller" \
	grep -q "^$Z dev: queued, the hook deadline was reached; will retry" "$T/err"
check "zadig slow: the push ends near the deadline (${TOOK}ms, deadline 2s, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 2000 + 1500))
# the ref the hook sent (git's order) waits; the poller delivers the other
a=; b=
for _ in $(seq 50); do
	a=; b=
	for r in main feature/s; do
		case $(note "$G" "$r") in
		queued*) a=$r ;;
		created* | running* | passed*) b=$r ;;
		esac
	done
	[ -n "$a" ] && [ -n "$b" ] && break
	sleep 0.1
done
check "zadig slow: the poller delivers the ref the hook had no time for" test -n "$b"
check "zadig slow: ... and keeps the one whose request may still create a task" test -n "$a"
a=${a:-main}
run_in "$G" git zadig sync
expect "zadig slow: an early sync" 1 "^delivered" \
	"still queued: an earlier request may still be in progress at zadig"
check "zadig slow: an early sync leaves it queued" \
	test "$(note "$G" "$a")" = "queued wf-dev #- - rule=dev"
check "zadig slow: the late task is found (sync), not created again" \
	sync_until "$G" "$a" "^(created|running|passed) wf-dev #[0-9]+ " 30
check "zadig slow: exactly one create request per ref" test "$(creates wf-dev)" = $((n + 2))
check "zadig slow: each was answered (one after its delay)" \
	test "$(creates wf-dev 200)" = $((n + 2))
for r in main feature/s; do
	check "zadig slow: the note of $r ends passed" \
		sync_until "$G" "$r" "^passed wf-dev #[0-9]+ .*rule=dev$"
	check "zadig slow: one task line on $r" test "$(note "$G" "$r" | wc -l)" = 1
done

# ---- the same commit pushed again after its create timed out, Zadig's
# commitId lookup slow: the push still ends by hook.deadline (each of the
# lookup's three tries took the whole timeout, the push three times the
# deadline); the task is found later, not created twice ----
hook_config "$T/relook.yaml" "$FAKE_URL" sync 2s '
webhook:
  public_url: http://127.0.0.1:9/hooks
  secret: callback-secret'
sed -i -e 's/^  deadline: 2s$/  deadline: 2s\n  poll: false/' \
	-e 's/^      env: dev$/      env: dev\n      callback: true/' "$T/relook.yaml"
new_repo relook "$T/relook.yaml"
G=$T/relook.git
git -C "$T/relook" checkout -q -b feature/relook
commit "$T/relook" "pushed again after a create that timed out"
# the lookup fault below also slows task reads: no poller may be reading
check "re-push: earlier pollers have exited" wait_pollers 20
n=$(creates wf-dev)
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":3500,"times":1}' >/dev/null
hrun git -C "$T/relook" push origin feature/relook
expect "re-push: the first create times out" 0 "" \
	"^$Z dev: queued, zadig did not answer within [0-9]+ms; will retry"
# the earlier request's zadig.timeout is over; the fake has made its task
sleep 2.5
git -C "$T/relook" push -q origin :feature/relook 2>/dev/null
baseline_push "$T/relook"
fake_ctl POST fault '{"method":"GET","path":"/api/directory/workflowTask","delay_ms":4500,"times":3}' >/dev/null
timed_push "$T/relook" origin feature/relook
expect "re-push: the push succeeds" 0 "" "^$Z dev: already queued"
check "re-push: the slow lookup ends by the deadline (${TOOK}ms, deadline 2s, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 2000 + 1000))
check "re-push: still queued" test "$(note "$G" feature/relook)" = "queued wf-dev #- - rule=dev"
# what is left of the lookup's fault is taken by requests of our own
for _ in 1 2 3; do
	fake_ctl GET faults | grep -q '"delay_ms": *4500' || break
	curl -s -o /dev/null -m 0.2 "$FAKE_URL/api/directory/workflowTask" || true
done
check "re-push: the slow lookup is over" \
	bash -c "! curl -s '$FAKE_URL/__fake/faults' | grep -q '\"delay_ms\": *4500'"
check "re-push: sync finds the task the first create made" \
	sync_until "$G" feature/relook "^(created|running|passed) wf-dev #[0-9]+ " 10
check "re-push: exactly one create" test "$(creates wf-dev)" = $((n + 1))

# ---- Zadig rejects the request: final, shown, noted, not retried ----
hook_config "$T/cfg.yaml" "$FAKE_URL"
new_repo app "$T/cfg.yaml"
G=$T/app.git
git -C "$T/app" checkout -q -b bad/one
commit "$T/app" "a workflow zadig does not have"
hrun git -C "$T/app" push origin bad/one
expect "rejected: the push succeeds" 0 "" \
	"^$Z bad: rejected by zadig: 6540 [^ ].* \(workflow missing-wf not found\) *$"
check "rejected: the note" \
	wait_note "$G" bad/one '^rejected missing-wf #- - error="6540 [^"]*workflow missing-wf not found[^"]*" rule=bad$' 3
check "rejected: one request" test "$(creates missing-wf)" = 1
run_in "$G" git zadig sync
expect "rejected: sync" 0 "^delivered 0 triggers"
check "rejected: sync does not retry it" test "$(creates missing-wf)" = 1
c=$(git -C "$T/app" rev-parse HEAD)
RC=0
printf '%040d %s refs/heads/bad/one\n' 0 "$c" |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "rejected: a hook re-run shows it again" 0 "" "^zadig: bad: rejected by zadig: 6540 "
check "rejected: a hook re-run sends nothing" test "$(creates missing-wf)" = 1
check "rejected: the note is unchanged" \
	test "$(note "$G" bad/one | grep -c rejected)" = 1

run_in "$G" git zadig status bad/one --json
expect "rejected: status --json" 0 '"status": "rejected", "workflow": "missing-wf", "task_id": null, "url": null, "error": "6540 '
if command -v python3 >/dev/null; then
	check "rejected: status --json is valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
fi

# ---- a broken config: the push goes through and says so ----
cp "$T/cfg.yaml" "$T/cfg.good"
printf 'rules: [\n' >>"$T/cfg.yaml"
git -C "$T/app" checkout -q -b feature/broken
commit "$T/app" "pushed with a broken config"
n=$(creates wf-dev)
hrun git -C "$T/app" push origin feature/broken
expect "broken config: the push succeeds" 0 "" \
	"^$Z configuration error: $T/cfg.yaml:[0-9]+:[0-9]+: .*; nothing triggered"
check "broken config: nothing sent" test "$(creates wf-dev)" = "$n"
# the push is not recorded: the pusher is told how to send it later
sha=$(git -C "$T/app" rev-parse HEAD)
expect "broken config: how to trigger it once fixed" 0 "" \
	"^$Z refs/heads/feature/broken: once the configuration is fixed, run 'git zadig trigger ${sha:0:12} --ref refs/heads/feature/broken --before 0' in the repository"
cp "$T/cfg.good" "$T/cfg.yaml"
run_in "$G" git zadig trigger "${sha:0:12}" --ref refs/heads/feature/broken --before 0
expect "broken config: that command sends it" 0 "^dev: wf-dev #[0-9]+ created"

# ---- 401: held until the token is fixed, then delivered once ----
# A poller still running from the pushes above has the good token in its
# environment and would deliver the trigger before the checks below look.
check "401: earlier pollers have exited" wait_pollers 20 "$G"
git -C "$T/app" checkout -q main
commit "$T/app" "pushed with a wrong token"
ZADIG_TOKEN=not-the-token hrun git -C "$T/app" push origin main
expect "401: the push succeeds" 0 "" \
	"^$Z dev: queued, .*401.*; will retry once the token is fixed"
check "401: the note says queued" wait_note "$G" main "^queued wf-dev #- - rule=dev$" 3
check "401: refused creates" test "$(creates wf-dev 401)" -ge 1
check "401: logged loudly" wait_for_log "$G" "ZADIG REFUSED THE TOKEN"
# sync with the token still wrong keeps it
ZADIG_TOKEN=still-wrong run_in "$G" git zadig sync
expect "401: sync with a wrong token fails loudly" 1 "^delivered 0 triggers, " \
	"^git-zadig: ZADIG REFUSED THE TOKEN for app/dev: .*401"
check "401: still queued" test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"
n=$(creates wf-dev 200)
run_in "$G" git zadig sync
expect "401: sync with the fixed token" 0 "^delivered 1 trigger"
check "401: delivered exactly once" test "$(creates wf-dev 200)" = $((n + 1))
check "401: the note ends passed" sync_until "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$"
run_in "$G" git zadig sync
check "401: no further create" test "$(creates wf-dev 200)" = $((n + 1))

# ---- 403: the token is valid, its user lacks a permission: held, and
# said as such (with a hint at workflow.project, which the rule lacks) ----
check "403: earlier pollers have exited" wait_pollers 20 "$G"
commit "$T/app" "pushed with the token of a user without the permission"
ZADIG_TOKEN=forbidden-token hrun git -C "$T/app" push origin main
expect "403: the push succeeds, saying it is a permission" 0 "" \
	"^$Z dev: queued, zadig denied permission \(HTTP 403\): .*workflow\.project.*; will retry once the token's user is allowed *$"
check "403: logged loudly as a permission" \
	wait_for_log "$G" "ZADIG DENIED PERMISSION for app/dev: zadig denied permission \(HTTP 403\)"
n=$(creates wf-dev 200)
run_in "$G" git zadig sync
expect "403: sync with a token that may" 0 "^delivered 1 trigger"
check "403: delivered exactly once" test "$(creates wf-dev 200)" = $((n + 1))
check "403: the note ends passed" sync_until "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$"

# (a sync says what it delivered, and that a trigger waits while an
# earlier request may still create its task)
check "sync printed no error but a trigger still queued" \
	bash -c "! grep -vE 'still queued|created http|was sent before: found' '$T/sync.err'"
# ---- the store write-locked by another process: the hook keeps to its
# deadline, spools the push, and the poller records it once the lock is
# gone; one task ----
command -v sqlite3 >/dev/null || not_ok "busy store: no sqlite3 CLI to hold the store's lock"
hook_config "$T/busy.yaml" "$FAKE_URL" sync 1s
new_repo busy "$T/busy.yaml"
G=$T/busy.git
hrun git -C "$T/busy" push origin main
expect "busy store: a first push makes the store" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "busy store: the first push's poller is done" wait_pollers 20 "$G"
git -C "$T/busy" checkout -q -b feature/locked
commit "$T/busy" "pushed while the store is locked"
c=$(git -C "$T/busy" rev-parse HEAD)
n=$(creates wf-dev)
baseline_push "$T/busy"
# BEGIN IMMEDIATE holds the write lock until $T/release appears (waiting
# for it as the programs do: without a busy timeout, a write lock another
# process held for a moment failed it, and nothing was locked)
printf '%s\n' '.timeout 10000' 'BEGIN IMMEDIATE;' 'DELETE FROM meta WHERE 0;' \
	".shell touch '$T/locked'" \
	".shell while [ ! -e '$T/release' ]; do sleep 0.1; done" \
	'ROLLBACK;' | sqlite3 "$G/zadig-hook/state.db" >"$T/lock.out" 2>&1 &
LOCKER=$!
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.1; done
check "busy store: another process holds the write lock" \
	bash -c "test -e '$T/locked' && ! grep -q . '$T/lock.out'"
timed_push "$T/busy" origin feature/locked
expect "busy store: the push succeeds, says queued" 0 "" \
	"^$Z refs/heads/feature/locked queued, state store .* is busy: .*; will retry *$"
check "busy store: nothing said lost" bash -c "! grep -q 'nothing triggered' '$T/err'"
check "busy store: the push keeps to hook.deadline (${TOOK}ms, deadline 1s, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((BASE + 1000 + 1000))
check "busy store: the push is spooled" \
	bash -c "ls '$G'/zadig-hook/spool/*.push >/dev/null 2>&1"
check "busy store: a poller is started for it" test -n "$(poller_of "$G")"
check "busy store: nothing sent while locked" test "$(creates wf-dev)" = "$n"
touch "$T/release"
wait "$LOCKER"
check "busy store: once the lock is gone the poller delivers" \
	wait_note "$G" "$c" "^(created|running|passed) wf-dev #[0-9]+ .*rule=dev$" 20
check "busy store: the spool is emptied" \
	bash -c "! ls '$G'/zadig-hook/spool/*.push >/dev/null 2>&1"
check "busy store: its pollers end" wait_pollers 20 "$G"
check "busy store: exactly one create" test "$(creates wf-dev)" = $((n + 1))

# ---- the store locked while the hook sends ----
hook_config "$T/midsend.yaml" "$FAKE_URL" sync 3s
sed -i 's/^  timeout: 2s$/  timeout: 10s/' "$T/midsend.yaml"
new_repo midsend "$T/midsend.yaml"
G=$T/midsend.git
hrun git -C "$T/midsend" push origin main
expect "mid-send lock: a first push makes the store" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "mid-send lock: the first push's poller is done" wait_pollers 20 "$G"
git -C "$T/midsend" checkout -q -b feature/midsend

# a second rule of the ref, its claim refused by the lock: it is said
# queued, with why (it was said ':  #0 created', no rule, no workflow)
cat >>"$T/midsend.yaml" <<'YAML'
  - name: dev2
    branches: ["feature/*"]
    workflow:
      name: wf-two
      env: dev
      targets: [{ name: vote, repos: ["${REPO}"] }]
YAML
commit "$T/midsend" "two rules, the second's claim refused"
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":1500,"times":1}' >/dev/null
rm -f "$T/locked" "$T/release"
(
	sleep 1.0
	printf '%s\n' '.timeout 10000' 'BEGIN IMMEDIATE;' 'DELETE FROM meta WHERE 0;' \
		".shell touch '$T/locked'" \
		".shell while [ ! -e '$T/release' ]; do sleep 0.1; done" \
		'ROLLBACK;' | sqlite3 "$G/zadig-hook/state.db" >"$T/lock.out" 2>&1
) &
LOCKER=$!
timed_push "$T/midsend" origin feature/midsend
check "two rules: the store was locked during the first send" test -e "$T/locked"
expect "two rules: the second is said queued, with why" 0 "" \
	"^$Z dev2: queued, "
check "two rules: no line without its rule" bash -c "! grep -q '^$Z : ' '$T/err'"
touch "$T/release"
wait "$LOCKER"
check "two rules: once the lock is gone both are followed" \
	wait_note "$G" feature/midsend "^(created|running|passed) wf-two #[0-9]+ .*rule=dev2$" 30
check "two rules: its pollers end" wait_pollers 30 "$G"

# ---- Zadig answers a task without a status: that task's poll failed
# (it backs off like a network error), the other tasks are polled and
# noted; no round loops on it ----
hook_config "$T/nostatus.yaml" "$FAKE_URL"
new_repo nostatus "$T/nostatus.yaml"
G=$T/nostatus.git
hrun git -C "$T/nostatus" push origin main:slow/a
expect "no status: the slow task is created" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
id=$(sed -nE "s/^$Z slow: wf-slow-build #([0-9]+) created.*/\\1/p" "$T/err")
P=/api/directory/workflowTask/id/$id/pipelines/wf-slow-build
fake_ctl POST fault "{\"method\":\"GET\",\"path\":\"$P\",\"status\":200,\"body\":\"{\\\"task_id\\\":$id,\\\"workflow_name\\\":\\\"wf-slow-build\\\"}\",\"times\":-1}" >/dev/null
check "no status: the poller reads the answer" \
	wait_for_log "$G" "cannot poll wf-slow-build #$id: .*no status" 10
start=$(now_ms)
before=$(grep -c "^GET $P " "$T/fake.log")
git -C "$T/nostatus" checkout -q -b feature/ns
commit "$T/nostatus" "pushed while a task has no status"
hrun git -C "$T/nostatus" push origin feature/ns
expect "no status: another push" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "no status: the other task is polled and noted" \
	wait_note "$G" feature/ns "^passed wf-dev #[0-9]+ .*rule=dev$" 15
# at most one read a poll.interval (200ms), fewer as it backs off to 1s;
# a round that came back at once made thousands
s=$((($(now_ms) - start) / 1000 + 1))
reads=$(($(grep -c "^GET $P " "$T/fake.log") - before))
check "no status: the task is read as it backs off ($reads reads in ${s}s)" \
	test "$reads" -le $((5 * s + 5))
lines=$(grep -c "cannot poll wf-slow-build #$id" "$G/zadig-hook/poller.log")
check "no status: one log line a read ($lines lines)" \
	test "$lines" -le $((reads + before + 1))
check "no status: its note keeps the status it had" \
	wait_note "$G" slow/a "^(created|running) wf-slow-build #$id " 1
# the fault never ends: the task would keep its poller until give_up_after
for pid in $(pollers "$G"); do kill "$pid"; done
wait_pollers 10 "$G"

# ---- the store refuses what a poll of one task changes (as a full disk
# may refuse one change and take another): the other tasks are polled and
# noted, and no round follows another at once ----
hook_config "$T/refuse.yaml" "$FAKE_URL"
new_repo refuse "$T/refuse.yaml"
G=$T/refuse.git
hrun git -C "$T/refuse" push origin main:slow/a
expect "store refuses a task: the slow task is created" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
id=$(sed -nE "s/^$Z slow: wf-slow-build #([0-9]+) created.*/\\1/p" "$T/err")
P=/api/directory/workflowTask/id/$id/pipelines/wf-slow-build
check "store refuses a task: an SQL trigger refuses its updates" \
	sqlite3 -cmd ".timeout 20000" "$G/zadig-hook/state.db" "CREATE TRIGGER refuse
	BEFORE UPDATE ON tasks WHEN old.workflow = 'wf-slow-build'
	BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
check "store refuses a task: the poller says so" \
	wait_for_log "$G" "refused by the test" 10
start=$(now_ms)
before=$(grep -c "^GET $P " "$T/fake.log")
git -C "$T/refuse" checkout -q -b feature/rf
commit "$T/refuse" "pushed while the store refuses a task"
hrun git -C "$T/refuse" push origin feature/rf
expect "store refuses a task: another push" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "store refuses a task: the other task is polled and noted" \
	wait_note "$G" feature/rf "^passed wf-dev #[0-9]+ .*rule=dev$" 15
s=$((($(now_ms) - start) / 1000 + 1))
reads=$(($(grep -c "^GET $P " "$T/fake.log") - before))
check "store refuses a task: a round a poll.interval ($reads reads in ${s}s)" \
	test "$reads" -le $((5 * s + 5))
for pid in $(pollers "$G"); do kill "$pid"; done
wait_pollers 10 "$G"

hook_finish
