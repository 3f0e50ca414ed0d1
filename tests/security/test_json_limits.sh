#!/bin/bash
# Hostile JSON is refused, never a crash (issue 6, design.md §9): the
# receiver answers oversized bodies 413 and deeply nested ones 400 and
# keeps serving; Zadig replies that are deeply nested, huge or not JSON
# leave the trigger queued; a deeply nested configuration is an error.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/../reliability/lib_rel.sh"

fake_start
Z="remote: zadig:"
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
write_config "$T/webhook.yaml" "$FAKE_URL" "state_dir: $T/state
webhook:
  secret: \${GL_SECRET}
  max_body: 1MiB
rules:
  - name: any
    workflow:
      name: wf-any
      env: dev
      targets: [{ name: app, repos: [app] }]"
wh_start "$T/webhook.yaml"

# nest N OPEN CLOSE: N levels of OPEN...CLOSE around 1
nest() {
	yes -- "$2" | head -n "$1" | tr -d '\n'
	printf 1
	yes -- "$3" | head -n "$1" | tr -d '\n'
}
HEAD='{"object_kind":"push","before":"0000000000000000000000000000000000000000","after":"1111111111111111111111111111111111111111","ref":"refs/heads/main","project":{"path_with_namespace":"g/a"},"commits":[],"total_commits_count":0,"x":'
for spec in "100 [ ]" "10000 [ ]" "200000 [ ]" "100000 {\"a\": }"; do
	set -- $spec
	{ printf '%s' "$HEAD"; nest "$1" "$2" "$3"; printf '}'; } >"$T/deep.json"
	gitlab "Push Hook" "$T/deep.json" -H "Idempotency-Key: deep-$1-$2" >/dev/null
	want "nested $1 deep ($2): refused with 400" 400 '"error"'
done
nest 300000 '[' ']' >"$T/deep.json"
gitlab "Push Hook" "$T/deep.json" >/dev/null
want "a bare 300000-deep array: 400" 400
head -c 2000000 /dev/zero | tr '\0' 'a' | sed 's/^/{"object_kind":"push","x":"/; s/$/"}/' >"$T/big.json"
gitlab "Push Hook" "$T/big.json" >/dev/null
want "2 MB body (Content-Length): 413" 413
gitlab "Push Hook" "$T/big.json" -H "Transfer-Encoding: chunked" >/dev/null
want "2 MB body (chunked): 413" 413
printf '{"object_kind":"push","ref":"refs/heads/main",' >"$T/trunc.json"
gitlab "Push Hook" "$T/trunc.json" >/dev/null
want "truncated JSON: 400" 400
printf '{"object_kind":"push"}\0{"x":1}' >"$T/nul.json"
gitlab "Push Hook" "$T/nul.json" >/dev/null
want "NUL inside the body: 400" 400
printf '\xff\xfe{"object_kind":"push"}' >"$T/bin.json"
gitlab "Push Hook" "$T/bin.json" >/dev/null
want "binary garbage: 400" 400
check "the receiver is alive" kill -0 "$WH_PID"
run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "healthz still 200" 0 "^200$"
wh_stop TERM
check "SIGTERM: exit 0" test "$WH_RC" = 0
check "no sanitizer report" sanitizer_clean "$T/wh.err"

# ---- Zadig replies ----
CFG=$T/hook.yaml
hook_config "$CFG" "$FAKE_URL"
sed -i 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' "$CFG"
new_repo app "$CFG"
CREATE=/api/directory/workflowTask/create
# reply_case NAME BODY-FILE [WANT]: the create call answers 200 with the
# file; the push must succeed and print WANT (default: queued).
reply_case() {
	local body
	body=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$2")
	printf '{"method":"POST","path":"%s","status":200,"body":"%s","times":1}' \
		"$CREATE" "$body" >"$T/fault.json"
	curl -s -X POST -H 'Content-Type: application/json' \
		--data-binary @"$T/fault.json" "$FAKE_URL/__fake/fault" >/dev/null
	git -C "$T/app" checkout -q -B "feature/$1" main
	commit "$T/app" "$1"
	hrun git -C "$T/app" push origin "feature/$1"
	expect "zadig replies $1: the push succeeds (${3:-queued})" 0 "" \
		"^$Z dev: ${3:-queued, .*; will retry}"
	check "zadig replies $1: the fault was met" \
		test "$(fake_ctl GET faults | grep -c '"times"')" = 0
}
nest 100000 '[' ']' >"$T/r1"
reply_case deep-array "$T/r1"
{ printf '{"task_id":1,"x":'; nest 50000 '{"a":' '}'; printf '}'; } >"$T/r2"
reply_case deep-object "$T/r2"
{ printf '{"task_id":1,"workflow_name":"'; head -c 3000000 /dev/zero | tr '\0' 'w'; printf '"}'; } >"$T/r3"
# (a valid reply, only big: taken)
reply_case huge-string "$T/r3" "wf-dev #1 created"
printf '{"task_id":1e999999}' >"$T/r4"
reply_case huge-number "$T/r4"
printf '{"task_id":123456789012345678901234567890}' >"$T/r5"
reply_case huge-integer "$T/r5"
# the four refused replies made no task (the fake answered instead of
# Zadig); the triggers stayed queued and a sync delivers them now. The
# last two are Zadig's JSON without a usable task_id, which may come with
# a task: they wait zadig.timeout (2s), then the commitId lookup (which
# lists no task) lets them be sent again
sleep 2.2
run_in "$T/app.git" git zadig sync
expect "git zadig sync succeeds after the refused replies" 0
cp "$T/err" "$T/sync.err"
check "git zadig sync delivers the 4 refused ones afterwards" \
	test "$(fake_ctl GET tasks | grep -c '"workflow": "wf-dev"')" = 4

# ---- configuration ----
{ printf 'zadig:\n  url: http://127.0.0.1:1\n  token: t\nrules: '; nest 100000 '[' ']'; echo; } >"$T/deep.yaml"
run git zadig config check "$T/deep.yaml"
expect "a 100000-deep YAML configuration: an error, not a crash" 2 "deep.yaml:"
{ printf 'zadig:\n  url: http://127.0.0.1:1\n  token: t\nx: &a [1'; for i in $(seq 30); do printf ', *a'; done; printf ']\n'; } >"$T/alias.yaml"
run git zadig config check "$T/alias.yaml"
expect "YAML aliases: an error, not a blow-up" 2 "alias.yaml:"
check "no sanitizer report from git zadig" sanitizer_clean "$T/out" "$T/err" "$T/sync.err"
finish
