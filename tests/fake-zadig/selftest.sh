#!/bin/bash
# Self-test of fake-zadig: start it on port 0 and drive every endpoint with
# curl. Usage: selftest.sh /path/to/fake-zadig
set -u

FAKE=${1:?usage: selftest.sh /path/to/fake-zadig}
T=$(mktemp -d /tmp/fz-selftest.XXXXXX)
TOKEN=tok-selftest-$$-secret
PID=
PASS=0
FAIL=0

cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1"
	echo "#   status: $STATUS"
	echo "#   body: $(head -c 1500 "$T/body")"
}

# req METHOD PATH [CURL-ARGS...]: authorised request; sets STATUS, BODY, CTYPE.
req() {
	local method=$1 path=$2
	shift 2
	raw "$method" "$path" -H "Authorization: Bearer $TOKEN" "$@"
}

# raw METHOD PATH [CURL-ARGS...]: request without the token.
raw() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -sS -X "$method" -o "$T/body" -D "$T/headers" \
		-w '%{http_code}' "$@" "$URL$path" 2>"$T/curl.err")
	CURL_RC=$?
	BODY=$(cat "$T/body")
	CTYPE=$(grep -i '^content-type:' "$T/headers" | tr -d '\r' | cut -d' ' -f2-)
}

# json METHOD PATH BODY [CURL-ARGS...]
json() {
	local method=$1 path=$2 data=$3
	shift 3
	req "$method" "$path" -H 'Content-Type: application/json' \
		--data-binary "$data" "$@"
}

ctl() {
	raw "$1" "/__fake/$2" ${3:+-H 'Content-Type: application/json' --data-binary "$3"}
}

# expect NAME STATUS [PATTERN-IN-BODY] (grep -E)
expect() {
	local name=$1 want=$2 pat=${3:-}
	if [ "$STATUS" != "$want" ]; then
		not_ok "$name (want HTTP $want)"
	elif [ -n "$pat" ] && ! grep -qE -- "$pat" "$T/body"; then
		not_ok "$name (body lacks /$pat/)"
	else
		ok "$name"
	fi
}

check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name (failed: $*)"; fi
}

# ---- start ------------------------------------------------------------
# a repository under --repo-root: where its branch is, a task built it
mkdir -p "$T/repos/built.git/refs/heads/feature" "$T/repos/packed/.git"
BUILT=0123456789abcdef0123456789abcdef01234567
PACKED=89abcdef0123456789abcdef0123456789abcdef
echo "$BUILT" >"$T/repos/built.git/refs/heads/feature/x"
printf '# pack-refs with: peeled fully-peeled sorted\n%s refs/heads/main\n' \
	"$PACKED" >"$T/repos/packed/.git/packed-refs"
"$FAKE" --listen 127.0.0.1 --port 0 --port-file "$T/port" --token "$TOKEN" \
	--forbidden-token forbidden-tok --log "$T/fake.log" \
	--repo-root "$T/repos" >"$T/stdout" 2>"$T/stderr" &
PID=$!
for _ in $(seq 200); do
	[ -s "$T/port" ] && break
	sleep 0.05
done
PORT=$(cat "$T/port" 2>/dev/null)
URL=http://127.0.0.1:$PORT
STATUS=- ; : >"$T/body"
check "port file written" test -n "$PORT"
for _ in $(seq 100); do
	grep -q listening "$T/stdout" && break
	sleep 0.05
done
check "prints the address" grep -qx "listening on 127.0.0.1:$PORT" "$T/stdout"

# ---- auth and routing -------------------------------------------------
raw GET /api/directory/workflowTask
expect "no token: 401" 401
check "401 has an empty body" test -z "$BODY"
raw GET /api/directory/workflowTask -H "Authorization: Bearer wrong"
expect "wrong token: 401" 401
raw GET /openapi/workflows/custom/task -H "Authorization: Bearer forbidden-tok"
expect "forbidden token: 403" 403
check "403 has an empty body" test -z "$BODY"
req GET /api/nothing/here
expect "unknown path: 404" 404 "^404 page not found$"
check "404 is text/plain" test "$CTYPE" = "text/plain"
req DELETE /api/directory/workflowTask/create
expect "wrong method: 404" 404 "404 page not found"

# ---- product create ---------------------------------------------------
TARGET='{"name":"svc","service_type":"k8s","build":{"repos":[{"repo_name":"r","branch":"main","pr":0}]}}'
# create errors are the backend's, proxied: 500 with "[400 BadRequest] {...}"
json POST /api/directory/workflowTask/create '{"workflow_name":"wf"}'
expect "create without env_name: 6540, proxied" 500 '^\{"code":500,"description":"\[400 BadRequest\] \{\\"code\\":6540,\\"description\\":\\"env_name is required\\",\\"extra\\":\{\},\\"message\\":\\"新建或更新wokflow失败\\",\\"type\\":\\"error\\"\}","message":"Internal Error: "\}$'
json POST /api/directory/workflowTask/create '{"workflow_name":"wf","env_name":"dev"}'
expect "create without targets" 500 "targets or release_images is required"
json POST /api/directory/workflowTask/create '{"workflow_name":"wf","env_name":"dev","targets":[{"name":"svc","build":{"repos":[{"repo_name":"r","branch":"main","pr":"1"}]}}]}'
expect "create with a string pr" 500 "pr must be an integer"
json POST /api/directory/workflowTask/create '{"workflow_name":"wf","env_name":"dev","targets":[{"name":"svc","service_type":"vm","build":{"repos":[{"repo_name":"r","branch":"main"}]}}]}'
expect "create with a bad service_type" 500 "service_type must be k8s or helm"
json POST /api/directory/workflowTask/create '{"workflow_name":"wf","env_name":"dev","targets":[{"name":"svc","build":{"repos":[{"branch":"main"}]}}]}'
expect "create without repo_name" 500 "repo_name is required"
json POST /api/directory/workflowTask/create "{\"workflow_name\":\"missing-wf\",\"env_name\":\"dev\",\"targets\":[$TARGET]}"
expect "create of a missing workflow" 500 '\[400 BadRequest\] .*\\"description\\":\\"workflow missing-wf not found\\".*\\"message\\":\\"新建或更新wokflow失败\\"'
json POST /api/directory/workflowTask/create '{"workflow_name":'
expect "create with a body that is not json: the front's own 500" 500 '^\{"code":500,"description":"invalid json body","message":"Internal Error: "\}$'
json POST '/api/directory/workflowTask/create?projectName=proj' \
	"{\"workflow_name\":\"wf\",\"env_name\":\"dev\",\"targets\":[$TARGET]}" \
	-H 'X-Fake-Commit: abcdef0123456789'
expect "create" 200 '^\{"project_name":"proj","workflow_name":"wf","task_id":1\}$'
json POST /api/directory/workflowTask/create \
	"{\"workflow_name\":\"wf\",\"env_name\":\"dev\",\"product_tmpl_name\":\"tmpl\",\"release_images\":[{\"image\":\"reg/x:1\",\"service_name\":\"x\",\"service_module\":\"x\"}]}"
expect "second create: next id, product_tmpl_name" 200 '"project_name":"tmpl","workflow_name":"wf","task_id":2'

# ---- product detail ---------------------------------------------------
D=/api/directory/workflowTask/id/1/pipelines/wf
req GET $D
expect "1st read: running" 200 '"status":"running"'
check "running: no test report yet" grep -q '"test_reports":\[\]' "$T/body"
req GET $D
expect "2nd read: passed" 200 '"status":"passed"'
check "detail: env_name empty" grep -q '"env_name":""' "$T/body"
check "detail: image per target" grep -q '"image":"registry.local/svc:1","service_name":"svc","registry_repo":"registry.local"' "$T/body"
check "detail: test report 24/24" grep -q '"tests":24,"successes":24,"failures":0' "$T/body"
check "detail: relative detail_url" grep -q '"detail_url":"/v1/projects/detail/proj/pipelines/multi/testcase/wf/1/test/' "$T/body"
# the seed's fields, no others: the lookup has the id, times and url
check "detail: no task_id, times or url" \
	bash -c "! grep -qE '\"(task_id|create_time|start_time|end_time|url)\":' '$T/body'"
check "detail: the seed's fields" grep -qE '^\{"workflow_name":"wf","env_name":"","targets":\[.*\],"images":\[.*\],"test_reports":\[.*\],"status":"passed"\}$' "$T/body"
req GET /api/directory/workflowTask/id/99/pipelines/wf
expect "unknown task: proxied 6161 in a 500" 500 '^\{"code":500,"description":"\[400 BadRequest\] \{\\"code\\":6161'

json POST /api/directory/workflowTask/create "{\"workflow_name\":\"wf-fail\",\"env_name\":\"dev\",\"targets\":[$TARGET]}"
req GET /api/directory/workflowTask/id/1/pipelines/wf-fail
req GET /api/directory/workflowTask/id/1/pipelines/wf-fail
expect "'fail' workflow ends failed" 200 '"status":"failed"'
check "failed: 20 of 24" grep -q '"successes":20,"failures":4' "$T/body"

json POST /api/directory/workflowTask/create "{\"workflow_name\":\"wf-slow\",\"env_name\":\"dev\",\"targets\":[$TARGET]}"
for _ in 1 2 3 4; do req GET /api/directory/workflowTask/id/1/pipelines/wf-slow; done
expect "'slow' workflow stays running" 200 '"status":"running"'

# ---- restart and cancel -----------------------------------------------
# (a failure is a 200 with resultCode 500 "fail", as Zadig answers, not
# the seed's 6164 and 6163 business errors)
req POST $D/restart
expect "restart of a passed task" 200 '^\{"resultCode":500,"errorMsg":"fail"\}$'
req POST /api/directory/workflowTask/id/42/pipelines/wf/restart
expect "restart of an unknown task" 200 '^\{"resultCode":500,"errorMsg":"fail"\}$'
req POST /api/directory/workflowTask/id/1/pipelines/wf-fail/restart
expect "restart of a failed task (v1.15)" 200 '^\{"message":"success"\}$'
req GET /api/directory/workflowTask/id/1/pipelines/wf-fail
expect "restarted task runs again" 200 '"status":"running"'
req POST $D/cancel
expect "cancel of a passed task" 200 '^\{"resultCode":500,"errorMsg":"fail"\}$'
req POST /api/directory/workflowTask/id/42/pipelines/wf/cancel
expect "cancel of an unknown task" 200 '^\{"resultCode":500,"errorMsg":"fail"\}$'
req POST /api/directory/workflowTask/id/1/pipelines/wf-slow/cancel
expect "cancel of a running task" 200 '"message":"success"'
req GET /api/directory/workflowTask/id/1/pipelines/wf-slow
expect "cancelled stays cancelled" 200 '"status":"cancelled"'

# ---- commitId lookup --------------------------------------------------
req GET '/api/directory/workflowTask?commitId=abcdef01'
expect "lookup by commit prefix" 200 '^\[\{"task_id":1,"create_time":[0-9]+,"start_time":[0-9]+,"end_time":[0-9]+,"status":"passed","url":"[^"]*/pipelines/multi/wf/1"\}\]$'
check "lookup is served as text/plain" grep -qi '^content-type: text/plain' "$T/headers"
req GET '/api/directory/workflowTask?commitId=ffff'
expect "lookup: no match" 200 '^\[\]$'
# --repo-root: a task is the commit its repository's branch is at
json POST /api/directory/workflowTask/create '{"workflow_name":"wf-built","env_name":"dev","targets":[{"name":"svc","build":{"repos":[{"repo_name":"built","branch":"feature/x"}]}}]}'
req GET "/api/directory/workflowTask?commitId=$BUILT"
expect "lookup: the commit a loose ref names" 200 '^\[\{"task_id":1,.*/pipelines/multi/wf-built/1"\}\]$'
json POST /api/directory/workflowTask/create '{"workflow_name":"wf-packed","env_name":"dev","targets":[{"name":"svc","build":{"repos":[{"repo_name":"packed","branch":"main"}]}}]}'
req GET "/api/directory/workflowTask?commitId=${PACKED:0:8}"
expect "lookup: the commit packed-refs names" 200 '^\[\{"task_id":1,.*/pipelines/multi/wf-packed/1"\}\]$'
json POST /api/directory/workflowTask/create '{"workflow_name":"wf-nobranch","env_name":"dev","targets":[{"name":"svc","build":{"repos":[{"repo_name":"built","branch":"gone"}]}}]}'
ctl GET tasks
check "no such branch: no commit" \
	bash -c "grep -A4 '\"workflow\": \"wf-nobranch\"' '$T/body' | grep -q '\"commit\": null'"
req GET '/api/directory/workflowTask?commitId='
expect "lookup: empty commitId matches everything" 200 'wf-slow'
ctl POST tasks '{"kind":"product","workflow":"old","task_id":5,"status":"passed","commit":"abcdef99","create_time":1000}'
expect "control: set an old task" 200 '"task_id": 5'
req GET '/api/directory/workflowTask?commitId=abcdef'
check "lookup: only the last 24 hours" bash -c "! grep -q 'multi/old/' '$T/body'"

# ---- generations: product ---------------------------------------------
ctl POST config '{"generation":"v1.17"}'
expect "control: config v1.17" 200 '"generation": "v1.17"'
req POST /api/directory/workflowTask/id/1/pipelines/wf-slow/restart
expect "restart reply in v1.17" 200 '^\{"resultCode":0,"errorMsg":"success"\}$'
ctl POST config '{"generation":"v1.18"}'
req GET '/api/directory/workflowTask?commitId=abcdef'
expect "v1.18: lookup is gone" 500 '^\{"code":500,"description":"Invalid path","message":"Internal Error: "\}$'
req POST /api/directory/workflowTask/id/1/pipelines/wf-slow/cancel
expect "cancel reply in v1.18" 200 '"resultCode":0'

# ---- custom workflows in each generation ------------------------------
C=/openapi/workflows/custom/task
INPUTS='[{"job_name":"build","job_type":"zadig-build","parameters":{}}]'
for gen in v1.15 v1.17 v1.18; do
	ctl POST config "{\"generation\":\"$gen\",\"steps\":2}"
	if [ $gen = v1.18 ]; then W=workflow_key P=project_key; else W=workflow_name P=project_name; fi
	json POST $C "{\"$P\":\"proj\",\"$W\":\"cw-$gen\",\"inputs\":$INPUTS}"
	expect "$gen: custom trigger" 200 "^\\{\"project_name\":\"proj\",\"workflow_name\":\"cw-$gen\",\"task_id\":1\\}$"
	json POST $C "{\"$P\":\"proj\",\"$W\":\"cw-$gen\",\"inputs\":{}}"
	expect "$gen: inputs must be an array" 400 '"code":6540'
	json POST $C "{\"$P\":\"proj\",\"$W\":\"cw-$gen\",\"inputs\":[{\"job_name\":\"x\"}]}"
	expect "$gen: inputs need job_type" 400 "job_type"

	case $gen in
	v1.15)
		json GET $C "{\"task_id\":1,\"workflow_name\":\"cw-$gen\"}"
		expect "$gen: detail from the GET body" 200 '"status":"running"'
		req GET "$C?task_id=1&workflow_name=cw-$gen"
		expect "$gen: detail ignores the query" 500 'mongo: no documents in result'
		json GET $C "{\"task_id\":1,\"workflow_name\":\"cw-$gen\"}"
		;;
	v1.17)
		req GET "$C?task_id=1&workflow_name=cw-$gen"
		expect "$gen: detail from the query" 200 '"status":"running"'
		json GET $C "{\"task_id\":1,\"workflow_name\":\"cw-$gen\"}"
		expect "$gen: detail ignores the body" 500 'mongo: no documents in result'
		req GET "$C?task_id=1&workflow_name=cw-$gen"
		;;
	v1.18)
		json POST $C "{\"project_name\":\"proj\",\"workflow_name\":\"cw-$gen\",\"inputs\":$INPUTS}"
		expect "$gen: trigger with the old names fails" 400 '"code":6540.*workflow not found'
		req GET "$C?taskId=1&workflowKey=cw-$gen"
		expect "$gen: detail from taskId/workflowKey" 200 '"status":"running"'
		req GET "$C?task_id=1&workflow_name=cw-$gen"
		expect "$gen: detail ignores the old query" 500 'mongo: no documents in result'
		req GET "$C?taskId=1&workflowKey=cw-$gen"
		check "$gen: workflow_key and display name" grep -q "\"workflow_key\":\"cw-$gen\",\"workflow_name\":\"cw-$gen-display\"" "$T/body"
		check "$gen: project_key" grep -q '"project_key":"proj"' "$T/body"
		;;
	esac
	expect "$gen: custom task passes" 200 '"status":"passed"'
	check "$gen: custom detail shape" grep -qE '"task_creator":"openapi".*"stages":\[\{"name":"构建","status":"passed".*"jobs":\[\{"name":"build","type":"zadig-build","status":"passed"' "$T/body"
	check "$gen: deploy stage with approval" grep -q '"name":"deploy","status":"passed".*"approval":{"enabled":false' "$T/body"

	json DELETE $C "{\"task_id\":1,\"$W\":\"cw-$gen\"}"
	expect "$gen: cancel of a passed custom task" 400 "\"code\":6163,\"message\":\"取消工作流任务失败\",\"description\":\"task: cw-$gen:1 is passed, cannot cancel\""
	json POST $C "{\"$P\":\"proj\",\"$W\":\"cw-$gen\",\"inputs\":$INPUTS}"
	json DELETE $C "{\"task_id\":2,\"$W\":\"cw-$gen\"}"
	expect "$gen: cancel of a new custom task" 200 '^\{"message":"success"\}$'
	json DELETE $C "{\"task_id\":9,\"$W\":\"cw-$gen\"}"
	expect "$gen: cancel of an unknown custom task" 400 "mongo: no documents in result"

	# approval: stops at waitforapprove after the reads
	json POST $C "{\"$P\":\"proj\",\"$W\":\"approval-$gen\",\"inputs\":$INPUTS}"
	if [ $gen = v1.15 ]; then
		DET=(json GET $C "{\"task_id\":1,\"workflow_name\":\"approval-$gen\"}")
	elif [ $gen = v1.17 ]; then
		DET=(req GET "$C?task_id=1&workflow_name=approval-$gen")
	else
		DET=(req GET "$C?taskId=1&workflowKey=approval-$gen")
	fi
	"${DET[@]}"; "${DET[@]}"; "${DET[@]}"
	expect "$gen: approval task waits" 200 '"status":"waitforapprove"'
	check "$gen: deploy stage waits" grep -q '"name":"deploy","status":"waitforapprove"' "$T/body"
	json POST $C/approve "{\"task_id\":1,\"$W\":\"approval-$gen\",\"stage_name\":\"构建\",\"approve\":true}"
	expect "$gen: approve of a stage without approval" 400 "\"code\":6169,\"message\":\"批准工作流任务失败\",\"description\":\"workflow approval-$gen ID 1 stage 构建 do not need approve\""
	json POST $C/approve "{\"task_id\":1,\"$W\":\"approval-$gen\",\"stage_name\":\"deploy\",\"approve\":true,\"comment\":\"LGTM\"}"
	expect "$gen: approve" 200 '^\{"message":"success"\}$'
	"${DET[@]}"
	expect "$gen: approved task finishes" 200 '"status":"passed"'
	check "$gen: approver recorded" grep -q '"reject_or_approve":"approve","comment":"LGTM"' "$T/body"
	json POST $C "{\"$P\":\"proj\",\"$W\":\"approval-$gen\",\"inputs\":$INPUTS}"
	ctl POST tasks "{\"kind\":\"custom\",\"workflow\":\"approval-$gen\",\"task_id\":2,\"status\":\"waitforapprove\"}"
	json POST $C/approve "{\"task_id\":2,\"$W\":\"approval-$gen\",\"stage_name\":\"deploy\",\"approve\":false}"
	expect "$gen: reject" 200 'success'
	ctl GET tasks
	check "$gen: status reject" bash -c "grep -A4 '\"workflow\": \"approval-$gen\"' '$T/body' | grep -q '\"status\": \"reject\"'"
done
req GET "$C?taskId=77&workflowKey=nope"
expect "custom detail of an unknown task" 500 '^\{"code":500,"description":"mongo: no documents in result","message":"Internal Error: "\}$'

# ---- completion callback ----------------------------------------------
ctl POST reset
expect "control: reset" 200 '"ok": true'
# The callback goes back to the fake itself: an unknown path, recorded.
json POST /api/directory/workflowTask/create "{\"workflow_name\":\"cbwf\",\"env_name\":\"dev\",\"targets\":[$TARGET],\"callback\":{\"callback_url\":\"$URL/callback/zadig?k=7&s=abc\",\"callback_vars\":{\"commit\":\"cafe1234\",\"rule\":\"dev\"}}}"
expect "create with callback" 200 '"task_id":1'
json POST /api/directory/workflowTask/create "{\"workflow_name\":\"cbfar\",\"env_name\":\"dev\",\"targets\":[$TARGET],\"callback\":{\"callback_url\":\"http://192.0.2.1/cb\"}}"
req GET /api/directory/workflowTask?commitId=cafe1
expect "commit from callback_vars" 200 '"task_id":1'
req GET /api/directory/workflowTask/id/1/pipelines/cbwf
req GET /api/directory/workflowTask/id/1/pipelines/cbwf
req GET /api/directory/workflowTask/id/1/pipelines/cbfar
req GET /api/directory/workflowTask/id/1/pipelines/cbfar
for _ in $(seq 100); do
	ctl GET requests
	[ "$(grep -c '"direction": "out"' "$T/body")" -ge 2 ] && break
	sleep 0.05
done
cp "$T/body" "$T/requests.json"
check "callback posted back" grep -q '"path": "/callback/zadig"' "$T/requests.json"
check "callback query kept" grep -q '"query": "k=7&s=abc"' "$T/requests.json"
check "callback body" grep -qF '"body": "{\"error\":\"\",\"images\":[{\"image\":\"registry.local/svc:1\",\"service_name\":\"svc\",\"registry_repo\":\"registry.local\"}],\"status\":\"passed\",\"task_id\":1,\"vars\":{\"commit\":\"cafe1234\",\"rule\":\"dev\"},\"workflow_name\":\"cbwf\"}"' "$T/requests.json"
check "callback sent as application/json" grep -q '"content_type": "application/json"' "$T/requests.json"
check "callback outcome recorded (404 from the fake)" bash -c "grep -A12 '\"direction\": \"out\"' '$T/requests.json' | grep -q '\"status\": 404'"
check "non-loopback callback refused" grep -q 'refused: not a loopback address' "$T/requests.json"
req POST /api/directory/workflowTask/id/1/pipelines/cbwf/restart
expect "restart a passed task fails" 200 '"resultCode":500'

# ---- faults -----------------------------------------------------------
ctl POST fault '{"method":"GET","path":"/api/directory/workflowTask/id/","delay_ms":1000,"times":1}'
expect "control: delay fault" 200
start=$(date +%s%N)
req GET /api/directory/workflowTask/id/1/pipelines/cbwf
end=$(date +%s%N)
expect "delayed reply is the normal one" 200 '"status":"passed"'
check "reply delayed ~1s" test $(((end - start) / 1000000)) -ge 950
ctl POST fault '{"method":"POST","path":"/api/","drop":true}'
req POST /api/directory/workflowTask/id/1/pipelines/cbwf/cancel
check "drop closes without a reply" test "$CURL_RC" = 52
req POST /api/directory/workflowTask/id/1/pipelines/cbwf/cancel
expect "a fault is consumed" 200 '"resultCode":500'
ctl POST fault '{"method":"*","path":"/api/directory","status":503,"body":"{\"message\":\"busy\"}","times":2}'
raw GET /api/directory/workflowTask
expect "faults apply before auth" 503 '^\{"message":"busy"\}$'
check "fault body is application/json" test "$CTYPE" = "application/json"
req GET /api/directory/workflowTask
expect "times counts down" 503
req GET /api/directory/workflowTask
expect "then normal again" 200
ctl POST fault '{"path":"/openapi/","status":502,"times":-1}'
req GET $C
expect "fault without body: empty" 502
check "empty fault body" test -z "$BODY"
req GET $C
expect "times -1 is forever" 502
ctl GET faults
expect "control: list faults" 200 '"times": -1'
ctl POST fault '{"status":"x"}'
expect "control: bad fault" 400 '"error"'

# ---- requests log -----------------------------------------------------
ctl GET requests
cp "$T/body" "$T/requests.json"
check "log: bearer header recorded" grep -q "\"authorization\": \"Bearer $TOKEN\"" "$T/requests.json"
check "log: missing header is null" grep -q '"authorization": null' "$T/requests.json"
check "log: dropped request" grep -q '"dropped": true' "$T/requests.json"
check "log: raw query" grep -q '"query": "commitId=cafe1"' "$T/requests.json"
check "log: 503 recorded" grep -q '"status": 503' "$T/requests.json"
check "log: control plane not recorded" bash -c "! grep -q '__fake' '$T/requests.json'"
ctl POST reset
ctl GET requests
check "reset clears requests" test "$(tr -d ' \n' <"$T/body")" = "[]"
ctl GET tasks
check "reset clears tasks" test "$(tr -d ' \n' <"$T/body")" = "[]"
ctl GET config
expect "reset restores the generation" 200 '"generation": "v1.15"'
req GET $C
expect "reset clears faults" 500 mongo
json GET $C '{"task_id":1,"workflow_name":"x"}'
ctl GET requests
check "log: GET body recorded" grep -qF '"body": "{\"task_id\":1,\"workflow_name\":\"x\"}"' "$T/body"

# ---- log file and shutdown --------------------------------------------
check "log file has request lines" grep -q '^GET /api/directory/workflowTask 401$' "$T/fake.log"
check "log file never holds the token" bash -c "! grep -q '$TOKEN' '$T/fake.log' '$T/stdout' '$T/stderr'"
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
STATUS=$rc
check "SIGTERM: exit 0" test "$rc" = 0
if [ -s "$T/stderr" ]; then
	echo "# stderr:"
	sed 's/^/#   /' "$T/stderr"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
