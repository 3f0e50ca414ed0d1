#!/bin/bash
# Zadig misbehaving (issue 6): slow past the deadline, resetting
# connections, 500/502/429 before succeeding, garbage and truncated JSON,
# on the create call and on the status reads, for the hook (sync, then
# git zadig sync / the poller) and for the receiver. Every push succeeds
# and says what happened; every trigger ends with exactly one task whose
# note ends passed; nothing crashes.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/lib_rel.sh"

fake_start
Z="remote: zadig:"
CREATE=/api/directory/workflowTask/create
DETAIL=/api/directory/workflowTask/id/

CFG=$T/config.yaml
cat >"$CFG" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
  timeout: 2s
hook:
  mode: sync
  deadline: 5s
  poll: false
poll:
  interval: 200ms
  max_interval: 1s
webhook:
  public_url: http://127.0.0.1:9/hooks
  secret: callback-secret
rules:
  - name: dev
    branches: ["f/*", "p/*"]
    workflow:
      name: wf-dev
      env: dev
      callback: true
      targets: [{ name: vote, repos: ["\${REPO}"] }]
YAML
new_repo app "$CFG"
W=$T/app
G=$T/app.git

# fault JSON...: queue faults at fake Zadig.
fault() {
	local f
	for f in "$@"; do fake_ctl POST fault "$f" >/dev/null; done
}
faults_left() {
	fake_ctl GET faults | grep -c '"times"'
}
# tasks_of COMMIT: how many tasks fake Zadig holds for the commit.
tasks_of() {
	task_pairs | grep -c " $1$"
}
# sync_until REV PATTERN [TRIES]: git zadig sync in the bare repository
# until the note of REV matches (a sync takes one step of each task).
sync_until() {
	local i
	for i in $(seq "${3:-20}"); do
		# exit 1: something Zadig did not do yet (said on stderr)
		(cd "$G" && git zadig sync >>"$T/sync.out" 2>>"$T/sync.err") ||
			{ rc=$?; [ "$rc" = 1 ] || echo "sync exit $rc" >>"$T/sync.err"; }
		note "$G" "$1" | grep -qE -- "$2" && return 0
		sleep 0.3
	done
	return 1
}

# case NAME WANT-IN-PUSH FAULT...: push a new branch f/NAME while the
# faults are queued on the create call; the push must succeed and print
# WANT (grep -E); then git zadig sync until the task exists and ends
# passed, with exactly one task for the commit.
fault_case() {
	local name=$1 want=$2 c
	shift 2
	git -C "$W" checkout -q -B "f/$name" main
	commit "$W" "fault $name"
	c=$(git -C "$W" rev-parse HEAD)
	fault "$@"
	timed_push "$W" origin "f/$name"
	expect "$name: the push succeeds and says so (${TOOK}ms)" 0 "" "$want"
	check "$name: the push stays within the hook deadline" test "$TOOK" -lt $((5000 + BASE + 2000))
	check "$name: delivered once zadig behaves" \
		sync_until "f/$name" "^(created|running|passed) wf-dev #[0-9]+ " 40
	check "$name: the note ends passed" \
		sync_until "f/$name" "^passed wf-dev #[0-9]+ .*rule=dev$" 10
	check "$name: exactly one task for the commit" test "$(tasks_of "$c")" = 1
	check "$name: one line in the note" test "$(note "$G" "f/$name" | wc -l)" = 1
	check "$name: every queued fault was used" test "$(faults_left)" = 0
	FAULT_COMMITS="$FAULT_COMMITS $c"
}

git -C "$W" push -q origin main 2>/dev/null
baseline_push "$W"
FAULT_COMMITS=

fault_case http500 "^$Z dev: queued, .*500.*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":500,\"body\":\"{\\\"message\\\":\\\"Internal Error: \\\",\\\"code\\\":500,\\\"description\\\":\\\"db down\\\"}\",\"times\":2}"
fault_case http502 "^$Z dev: queued, .*502.*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":502,\"body\":\"<html><body>502 Bad Gateway</body></html>\",\"content_type\":\"text/html\",\"times\":2}"
fault_case http429 "^$Z dev: queued, .*429.*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":429,\"body\":\"\",\"times\":2}"
fault_case reset "^$Z dev: queued, .*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"drop\":true,\"times\":2}"
fault_case garbage "^$Z dev: queued, .*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":200,\"body\":\"<html>hello</html>\",\"content_type\":\"text/html\",\"times\":1}"
fault_case truncated "^$Z dev: queued, .*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":200,\"body\":\"{\\\"project_name\\\":\\\"default\\\",\\\"workflow_name\\\":\\\"wf-d\",\"times\":1}"
fault_case mixed "^$Z dev: queued, .*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":503,\"times\":1}" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"drop\":true,\"times\":1}" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":200,\"body\":\"[]\",\"times\":1}" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":429,\"times\":1}"
# Slow: the task is made and the reply comes after zadig.timeout (2s):
# the retry, which waits one more zadig.timeout, must find the task
# (commitId lookup), not create a second one. (A server that takes longer
# than twice zadig.timeout to create a task can still get a second one:
# see the report of issue 6.)
fault_case slow "^$Z dev: queued, zadig did not answer within [0-9]+ms; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"delay_ms\":2400,\"times\":1}"
# Slow and then resetting: the request may have arrived; it did not.
fault_case slowreset "^$Z dev: queued, .*; will retry" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"delay_ms\":1500,\"drop\":true,\"times\":1}"

# ---- status reads misbehaving: the task still ends passed ----
git -C "$W" checkout -q -B p/reads main
commit "$W" "faults on the status reads"
c=$(git -C "$W" rev-parse HEAD)
hrun git -C "$W" push origin p/reads
expect "reads: created" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
fault "{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":500,\"body\":\"{\\\"code\\\":500\",\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":502,\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":429,\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"drop\":true,\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":200,\"body\":\"garbage{\",\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":200,\"body\":\"{\\\"task_id\\\":1,\\\"status\\\":\\\"pas\",\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":200,\"body\":\"{\\\"task_id\\\":1,\\\"status\\\":\\\"passed\\\",\\\"stages\\\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\",\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"delay_ms\":2500,\"times\":1}"
check "reads: the task ends passed through every fault" \
	sync_until p/reads "^passed wf-dev #[0-9]+ .*rule=dev$" 40
check "reads: every fault was met" test "$(faults_left)" = 0
check "reads: one task" test "$(tasks_of "$c")" = 1
check "reads: the note never took a faulty status" \
	bash -c "! grep -E 'pas |garbage' '$T/sync.out'"

# ---- the poller (not git zadig sync) through the same faults ----
sed -i 's/^  poll: false$/  poll: true/' "$CFG"
git -C "$W" checkout -q -B f/poller main
commit "$W" "the poller meets faults"
c=$(git -C "$W" rev-parse HEAD)
fault "{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":502,\"times\":1}" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"drop\":true,\"times\":1}" \
	"{\"method\":\"POST\",\"path\":\"$CREATE\",\"status\":200,\"body\":\"{\\\"task_id\\\":\",\"times\":1}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"status\":500,\"times\":3}" \
	"{\"method\":\"GET\",\"path\":\"$DETAIL\",\"drop\":true,\"times\":3}"
hrun git -C "$W" push origin f/poller
expect "poller: the push succeeds" 0 "" "^$Z dev: queued, .*502.*; will retry"
check "poller: it delivers and follows the task to passed" \
	wait_note "$G" f/poller "^passed wf-dev #[0-9]+ .*rule=dev$" 40
check "poller: every fault was met" test "$(faults_left)" = 0
check "poller: exactly one task" test "$(tasks_of "$c")" = 1

check "git zadig sync never failed otherwise or crashed" \
	bash -c "! grep -E 'sync exit|Sanitizer|runtime error' '$T/sync.err'"
check "git zadig sync said what Zadig had not done yet" \
	grep -qE "^git-zadig: .*still queued: .*(500|502|429)" "$T/sync.err"
check "git zadig sync said which reads failed" \
	grep -qE "^git-zadig: cannot poll wf-dev #[0-9]+: " "$T/sync.err"
hook_finish
