#!/bin/bash
# git zadig show / retry / cancel / approve against fake Zadig, in every
# server generation, with every error shape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start --steps 3
CFG=$T/config.yaml
write_config "$CFG"
export ZADIG_HOOK_CONFIG=$CFG

run git zadig --version
expect "version" 0 "git-zadig \(zadig-hook\) [0-9]"
run git zadig -h
expect "-h lists verbs" 0 "approve <workflow> <task-id> <stage>"
run git-zadig --help
expect "--help lists verbs" 0 "approve <workflow> <task-id> <stage>"
check "--help: --json is for status and show" grep -qE -- "--json +JSON output \(status, show\)" "$T/out"
run git zadig frobnicate
expect "unknown verb is a usage error" 2 "" "unknown verb 'frobnicate'"
run git zadig show onlyone
expect "missing argument is a usage error" 2 "" "usage: git zadig show"
run git zadig show wf abc
expect "bad task id" 2 "" "invalid task id 'abc'"
run git zadig show "" 3
expect "an empty workflow name is a usage error" 2 "" "no workflow name given"
run git zadig cancel "" 3 --custom
expect "cancel: an empty workflow name is a usage error" 2 "" "no workflow name given"
run git zadig approve wf 3 ""
expect "approve: an empty stage is a usage error" 2 "" "no stage name given"
run git zadig retry wf 1 --custom
expect "option the verb does not take" 2 "" "does not take --custom"

for gen in v1.15 v1.17 v1.18; do
	fake_ctl POST reset >/dev/null
	fake_ctl POST config "{\"generation\":\"$gen\"}" >/dev/null
	fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":7,"status":"running"}' >/dev/null

	run git zadig show wf-dev 7
	expect "$gen: show product task" 0 "^wf-dev #7: running" 
	# Zadig's product task detail names no times, no url and no project
	check "$gen: show of a product task: no times" \
		bash -c "! grep -q '^  created:' '$T/out'"
	check "$gen: show, no project known: no url" \
		bash -c "! grep -q '^  url:' '$T/out'"
	run git zadig show wf-dev 7 --project default
	expect "$gen: show --project" 0 "^wf-dev #7: "
	check "$gen: show --project prints the task url" \
		grep -q "^  url:      $FAKE_URL/v1/projects/detail/default/pipelines/multi/wf-dev/7$" "$T/out"
	run git zadig show wf-dev 7 --json
	expect "$gen: show --json" 0 '"status": *"(running|passed)"'

	fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":8,"status":"running"}' >/dev/null
	run git zadig cancel wf-dev 8
	expect "$gen: cancel product task" 0 "cancelled wf-dev #8"
	# Zadig answers a refused cancel or restart with only resultCode 500
	# "fail": the task's status says why
	run git zadig cancel wf-dev 8
	expect "$gen: cancel of a final task says why" 1 "" \
		"^git-zadig: error: cannot cancel wf-dev #8: it is cancelled, and a task that has ended cannot be cancelled \(zadig 500: fail\)$"
	run git zadig retry wf-dev 8
	expect "$gen: retry cancelled task" 0 "restarted wf-dev #8"
	fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":10,"status":"passed"}' >/dev/null
	run git zadig retry wf-dev 10
	expect "$gen: retry of a passed task says why" 1 "" \
		"^git-zadig: error: cannot retry wf-dev #10: it is passed, and only a failed, timed-out or cancelled task can be retried \(zadig 500: fail\)$"
	run git zadig retry wf-dev 99
	expect "$gen: retry of an unknown task: both answers" 1 "" \
		"^git-zadig: error: cannot retry wf-dev #99: zadig 500: fail \(and reading the task: zadig 6161: 获取工作流任务失败\)$"
	run git zadig show wf-dev 99
	expect "$gen: unknown task: proxied error unwrapped" 1 "" "zadig 6161: 获取工作流任务失败"

	fake_ctl POST tasks '{"kind":"custom","workflow":"approval-flow","task_id":3,"status":"waitforapprove"}' >/dev/null
	run git zadig show approval-flow 3 --custom
	expect "$gen: show custom task" 0 "^approval-flow #3: " 
	check "$gen: show custom lists stages" grep -q "stage deploy" "$T/out"
	run git zadig approve approval-flow 3 deploy --comment "LGTM"
	expect "$gen: approve stage" 0 "approved stage 'deploy' of approval-flow #3"
	run git zadig approve approval-flow 3 构建
	expect "$gen: approve a stage without approval" 1 "" "zadig 6169: "
	fake_ctl POST tasks '{"kind":"custom","workflow":"build-images","task_id":20,"status":"running"}' >/dev/null
	run git zadig cancel build-images 20 --custom
	expect "$gen: cancel custom task" 0 "cancelled build-images #20"
	run git zadig cancel build-images 20 --custom
	expect "$gen: cancel a final custom task" 1 "" "zadig 6163: 取消工作流任务失败 \(task: build-images:20 is cancelled, cannot cancel\)"

	fake_ctl GET requests >"$T/requests.json"
	check "$gen: every request sent the bearer token" \
		bash -c "! grep -o '\"authorization\": *[^,]*' '$T/requests.json' | grep -v 'Bearer $TOKEN'"
done

# reject
fake_ctl POST reset >/dev/null
fake_ctl POST tasks '{"kind":"custom","workflow":"approval-flow","task_id":4,"status":"waitforapprove"}' >/dev/null
run git zadig approve approval-flow 4 deploy --reject --comment "not today"
expect "approve --reject" 0 "rejected stage 'deploy' of approval-flow #4"
fake_ctl GET requests >"$T/requests.json"
check "reject sends approve=false and the comment" grep -q 'not today' "$T/requests.json"

# -h, --help and --version as the value of an option are that value, not a
# request for the usage text
fake_ctl POST reset >/dev/null
fake_ctl POST tasks '{"kind":"custom","workflow":"approval-flow","task_id":5,"status":"waitforapprove"}' >/dev/null
run git zadig approve approval-flow 5 deploy --comment -h
expect "--comment -h is the comment" 0 "approved stage 'deploy' of approval-flow #5"
fake_ctl GET requests >"$T/requests.json"
check "--comment -h: the comment sent is -h" grep -q '\\"comment\\": *\\"-h\\"' "$T/requests.json"
# (in a repository of the test's own, not wherever ctest runs)
git init -q "$T/opts"
git -C "$T/opts" commit -q --allow-empty -m opts
run_in "$T/opts" git zadig trigger --rule -h --dry-run
expect "--rule -h is the rule's name" 2 "" "'-h'"
run_in "$T/opts" git zadig explain --ref --help
expect "--ref --help is the ref" 0 "^refs/heads/--help at "
run git zadig show --config --version wf-dev 1
expect "--config --version is the file" 2 "" "'--version'"
run git zadig show wf-dev 1 -- --help
expect "--help after -- is an argument" 2 "" "usage: git zadig show"
run git zadig show --project p --help
expect "--help after an option's value is still --help" 0 "approve <workflow>"

# Zadig's strings reach the terminal without their control characters
# (ESC, BEL, CR, LF, DEL), and --json stays JSON when Zadig's strings hold
# them raw (json-c takes them, JSON does not)
fake_ctl POST reset >/dev/null
BAD='{\"task_id\":6,\"workflow_key\":\"approval-flow\",\"workflow_name\":\"Flow\\u001b]0;title\\u0007\",\"project_key\":\"p\",\"status\":\"wait\\u001b[31mforapprove\",\"url\":\"http://z/\\u001b[2J\",\"task_creator\":\"a\\nb\",\"stages\":[{\"name\":\"deploy\\r\",\"status\":\"running\\u0007\",\"approval\":{\"enabled\":true,\"reject_or_approve\":\"\\u001b[1m\",\"description\":\"ok?\\u001b[5m\\nfake: line\",\"needed_approvers\":1},\"jobs\":[{\"name\":\"j\\u001b\",\"type\":\"t\\b\",\"status\":\"s\\u007f\"}]}]}'
fake_ctl POST fault "{\"method\":\"GET\",\"path\":\"/openapi/workflows/custom/task\",\"status\":200,\"body\":\"$BAD\",\"times\":1}" >/dev/null
run git zadig show approval-flow 6 --custom
expect "show: Zadig's control characters are blanked" 0 "^approval-flow #6: wait \[31mforapprove$"
check "show: no control character in the output" bash -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/out'"
check "show: a newline in a description starts no line" bash -c "! grep -q '^fake: line' '$T/out'"
check "show: the description is shown" grep -q "approval: .*ok? \[5m fake: line$" "$T/out"
RAW=$(printf '%s' "$BAD" | sed 's/\\\\u001b/\\u001b/g; s/\\\\u0007/\\u0007/g; s/\\\\n/\\n/g; s/\\\\r/\\r/g')
fake_ctl POST fault "{\"method\":\"GET\",\"path\":\"/openapi/workflows/custom/task\",\"status\":200,\"body\":\"$RAW\",\"times\":2}" >/dev/null
run git zadig show approval-flow 6 --custom --json
expect "show --json of raw control characters" 0 '"status"'
check "show --json: no control character in the output" bash -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/out'"
if command -v python3 >/dev/null; then
	check "show --json: valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
fi
run git zadig show approval-flow 6 --custom
expect "show of raw control characters" 0 "^approval-flow #6: wait \[31mforapprove$"
check "show of raw control characters: none in the output" bash -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/out'"

# resultCode failure on HTTP 200
fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":9,"status":"running"}' >/dev/null
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/id/9/","status":200,"body":"{\"resultCode\":500,\"errorMsg\":\"fail\"}","times":1}' >/dev/null
run git zadig cancel wf-dev 9
expect "200 with resultCode 500 is a failure" 1 "" "zadig 500: fail"
# resultCode 401 and 403: the token refused, the permission denied
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/id/9/","status":200,"body":"{\"resultCode\":403,\"errorMsg\":\"forbidden\"}","times":1}' >/dev/null
run git zadig cancel wf-dev 9
expect "resultCode 403 is a denied permission" 1 "" \
	"^git-zadig: error: zadig denied permission \(resultCode 403: forbidden\): the token's user may not do this in this project$"
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/id/9/","status":200,"body":"{\"resultCode\":401,\"errorMsg\":\"auth failed!\"}","times":1}' >/dev/null
run git zadig retry wf-dev 9
expect "resultCode 401 is a refused token" 1 "" \
	"^git-zadig: error: zadig refused the token \(resultCode 401: auth failed!\): check zadig.token$"

# error shapes
fake_ctl POST fault '{"method":"GET","path":"/api/directory/workflowTask/id/","status":500,"body":"","times":3}' >/dev/null
run git zadig show wf-dev 9
expect "500 with empty body" 1 "" "HTTP 500"
fake_ctl POST fault '{"method":"*","path":"/api/","status":404,"body":"404 page not found","content_type":"text/plain","times":1}' >/dev/null
run git zadig retry wf-dev 9
expect "404 plain text" 1 "" "HTTP 404: 404 page not found"

# a 200 page (a login page a proxy answers with) is no success
fake_ctl POST fault '{"method":"*","path":"/","status":200,"body":"<!doctype html><html>Sign in</html>","content_type":"text/html","times":3}' >/dev/null
run git zadig cancel wf-dev 9
expect "cancel answered by a page: exit 1" 1 "" "not JSON .*<!doctype html>.*zadig.url"
run git zadig retry wf-dev 9
expect "retry answered by a page: exit 1" 1 "" "not JSON"
run git zadig cancel build-images 20 --custom
expect "custom cancel answered by a page: exit 1" 1 "" "not JSON"

# bad token and forbidden
write_config "$T/bad.yaml" "$FAKE_URL"
ZADIG_TOKEN=not-the-token run git zadig show wf-dev 9 --config "$T/bad.yaml"
expect "bad token: 401 named" 1 "" "401"
ZADIG_TOKEN=forbidden-token run git zadig show wf-dev 9 --config "$T/bad.yaml"
expect "no permission: 403 named" 1 "" "403"

# timeout: the fake holds the reply longer than zadig.timeout (2s)
# (the reply would come after 10 s; the 2 s timeout must cut it well before,
# with room for a slow sanitizer build on a busy machine)
fake_ctl POST fault '{"method":"POST","path":"/api/","delay_ms":10000,"times":1}' >/dev/null
start=$(date +%s)
run git zadig retry wf-dev 9
expect "timeout" 1 "" "did not answer within 2000ms"
check "timeout holds (cut long before the reply)" test $(( $(date +%s) - start )) -lt 7

# dropped connection
fake_ctl POST fault '{"method":"POST","path":"/api/","drop":true,"times":1}' >/dev/null
run git zadig retry wf-dev 9
expect "dropped connection" 1 "" "zadig"

# refused connection
write_config "$T/down.yaml" "http://127.0.0.1:$(closed_port)"
run git zadig show wf-dev 9 --config "$T/down.yaml"
expect "zadig down: connection refused" 1 "" "cannot reach zadig.*(refused|connect)"

# config errors are exit 2
printf 'zadig:\n  url: ftp://x\n  token: t\n' >"$T/ftp.yaml"
run git zadig show wf-dev 9 --config "$T/ftp.yaml"
expect "invalid config exits 2" 2 "" "^git-zadig: error: .*ftp.yaml:2:"
run git zadig show wf-dev 9 --config "$T/nope.yaml"
expect "missing config exits 2" 2 "" "^git-zadig: error: cannot read '.*nope.yaml': No such file"
check "missing config: one line" test "$(wc -l <"$T/err")" = 1

# config check: every error, with FILE:LINE:COL, exit 2
cat >"$T/bad.yaml" <<'YAML'
zadig:
  url: https://zadig.example.com
  tokn: x
  timeout: ten
rules:
  - name: a
    workflow: { name: w, env: dev }
  - name: a
    custom_workflow: { project: p, name: c }
YAML
run git zadig config check "$T/bad.yaml"
expect "config check reports all errors" 2 "bad.yaml:3:3: unknown key 'tokn' in 'zadig' \(did you mean 'token'\?\)"
check "config check: bad duration" grep -q "bad.yaml:4:12: " "$T/out"
check "config check: duplicate rule named" grep -qE "bad.yaml:8:[0-9]+: .*duplicate.*'a'" "$T/out"
GITLAB_WEBHOOK_SECRET=s ZADIG_NOTIFY_TOKEN=n WEBHOOK_SIGNING_KEY=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw GITLAB_TOKEN=g \
	run git zadig config check "$ZH_SOURCE_DIR/config.example.yaml"
expect "config check of the example (env set)" 0 "^ok$"

# a filter the rule's events never use: a warning at its place (tags had
# no effect, and the rule fired on every branch push)
cat >"$T/noop.yaml" <<'YAML'
zadig:
  url: https://zadig.example.com
  token: t
rules:
  - name: rel
    tags: ["v*"]
    workflow: { name: w, env: dev, targets: [{ name: s, repos: [r] }] }
YAML
run git zadig config check "$T/noop.yaml"
expect "config check: tags without the tag event is a warning" 0 "^ok$" \
	"^git-zadig: warning: $T/noop.yaml:6:5: rule 'rel': tags has no effect: events does not include tag$"

# what no program could run is an error of config check too: a product
# workflow with nothing to build (every push said so), a receiver section
# without GitLab's secret (the receiver refused to start)
printf 'zadig: {url: "https://z", token: t}\nrules:\n  - name: a\n    workflow: {name: w, env: e}\n' >"$T/notargets.yaml"
run git zadig config check "$T/notargets.yaml"
expect "config check: a workflow without targets or release_images" 2 \
	"^$T/notargets.yaml:3:5: rule 'a': workflow needs 'targets' or 'release_images'$"
# what the seed calls "must" of a create: a target's repos, and image,
# service_name and service_module of a release image: a warning (the real
# server differs from the document in places; earlier versions sent such
# rules, and still do: Zadig's refusal is the trigger's rejected line)
printf 'zadig: {url: "https://z", token: t}\nrules:\n  - name: a\n    workflow: {name: w, env: e, targets: [{name: s}]}\n  - name: b\n    workflow:\n      name: w\n      env: e\n      release_images:\n        - {image: i, service_name: s}\n' >"$T/norepos.yaml"
run git zadig config check "$T/norepos.yaml"
expect "config check: a target without repos is a warning" 0 "^ok$" \
	"^git-zadig: warning: $T/norepos.yaml:4:43: rules\[0\].workflow.targets\[0\] has no 'repos': sent with an empty build.repos, which Zadig's API documents as required \(release_images deploys an image without a build\)$"
check "config check: a release image without its service_module too" \
	grep -qx "git-zadig: warning: $T/norepos.yaml:10:11: rule 'b': release_images\[0\] has no 'service_module' (a non-empty string), which Zadig's API documents as required; sent as written" "$T/err"
printf 'zadig: {url: "https://z", token: t}\nwebhook: {listen: "127.0.0.1:1"}\n' >"$T/nosecret.yaml"
run git zadig config check "$T/nosecret.yaml"
expect "config check: a webhook section without its secret" 2 \
	"^$T/nosecret.yaml:2:10: webhook.secret is required"

# a retry, cancel or approve of a task the repository's store follows: the
# note follows the task Zadig restarted, cancelled or resumed, without a
# 'git zadig sync' (the note stayed at the old final status for good)
unset ZADIG_HOOK_CONFIG # the repository's own config, as the hook's
fake_ctl POST reset >/dev/null
fake_ctl POST config '{"final":"failed","steps":2}' >/dev/null
hook_config "$T/hook.yaml" "$FAKE_URL"
new_repo app "$T/hook.yaml"
G=$T/app.git
Z="remote: zadig:"
hrun git -C "$T/app" push origin main
expect "push: a task that fails" 0 "" "^$Z dev: wf-dev #1 created"
c=$(git -C "$T/app" rev-parse HEAD)
check "its note ends failed" wait_note "$G" "$c" "^failed wf-dev #1 "
check "the poller is done" wait_pollers 20
fake_ctl POST config '{"final":"passed"}' >/dev/null
run_in "$G" git zadig retry wf-dev 1
expect "retry of a task the store follows" 0 "restarted wf-dev #1"
check "retry: the note ends passed, no sync needed" \
	wait_note "$G" "$c" "^passed wf-dev #1 .*tests=24/24 rule=dev$"
check "retry: the poller is done" wait_pollers 20

# cancel: the note says cancelled after the next poll
git -C "$T/app" checkout -q -b slow/one
commit "$T/app" "slow"
hrun git -C "$T/app" push origin slow/one
expect "push: a task that never ends" 0 "" "^$Z slow: wf-slow-build #1 created"
s=$(git -C "$T/app" rev-parse HEAD)
check "its note says running" wait_note "$G" "$s" "^running wf-slow-build #1 "
run_in "$G" git zadig cancel wf-slow-build 1
expect "cancel of a task the store follows" 0 "cancelled wf-slow-build #1"
check "cancel: the note ends cancelled" \
	wait_note "$G" "$s" "^cancelled wf-slow-build #1 " 10

# approve: the custom task goes on from its approval to its end
cat >>"$T/hook.yaml" <<'YAML'
  - name: approval
    branches: ["approve/*"]
    custom_workflow:
      project: helm
      name: approval-flow
      inputs:
        - job_name: build
          job_type: zadig-build
          parameters: { branch: "${BRANCH}" }
YAML
git -C "$T/app" checkout -q -b approve/one
commit "$T/app" "approve"
hrun git -C "$T/app" push origin approve/one
expect "push: a task that waits for approval" 0 "" "^$Z approval: approval-flow #1 created"
a=$(git -C "$T/app" rev-parse HEAD)
check "its note says it waits" wait_note "$G" "$a" "^waitforapprove approval-flow #1 "
run_in "$G" git zadig approve approval-flow 1 deploy
expect "approve of a task the store follows" 0 "approved stage 'deploy' of approval-flow #1"
check "approve: the note ends passed" \
	wait_note "$G" "$a" "^passed approval-flow #1 .*kind=custom rule=approval$"

# a verb outside any repository with a store, or for a task no store
# knows, works as before and makes no store
fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":7,"status":"failed"}' >/dev/null
git init -q "$T/plain"
run_in "$T/plain" git zadig retry wf-dev 7 --config "$CFG"
expect "retry in a repository without a store" 0 "restarted wf-dev #7"
check "no store made for it" test ! -e "$T/plain/.git/zadig-hook"
check "every poller exits" wait_pollers 20

finish
