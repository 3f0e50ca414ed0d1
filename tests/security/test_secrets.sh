#!/bin/bash
# The Zadig token and the receiver's secrets are never shown (issue 6,
# design.md §9): not in a log, a note, the state store, an error message,
# a reply, /metrics, nor in /proc/<pid>/cmdline of any process we start
# (nor in /proc/<pid>/environ when the token comes from token_file).
# Zadig error texts that quote the token (a proxy echoing the request)
# are shown with the token masked.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/../reliability/lib_rel.sh"

fake_start
Z="remote: zadig:"
GL_SECRET="gl-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-secret"
ZT="zt-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-secret"
SECRETS=("$TOKEN" "$GL_SECRET" "$ZT")

# clean FILE...: no secret in any of the files.
clean() {
	local s
	for s in "${SECRETS[@]}"; do
		! grep -rqF -- "$s" "$@" 2>/dev/null || return 1
	done
}
# proc_clean PID: no secret in the process's command line.
proc_clean() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" >"$T/cmdline" &&
		[ -s "$T/cmdline" ] && clean "$T/cmdline"
}

# ---- the hook and its poller ----
CFG=$T/hook.yaml
hook_config "$CFG" "$FAKE_URL"
new_repo app "$CFG"
G=$T/app.git
git -C "$T/app" checkout -q -b slow/s
hrun git -C "$T/app" push origin slow/s
expect "hook: a slow task" 0 "" "^$Z slow: wf-slow-build #1 created"
pid=$(poller_of "$G")
check "hook: the poller runs" test -n "$pid"
check "hook: no secret on the poller's command line" proc_clean "${pid%% *}"
check "hook: the hook's output holds no secret" clean "$T/out" "$T/err"

# a Zadig error that quotes the request, token and all
fake_ctl POST fault "{\"method\":\"POST\",\"path\":\"/api/directory/workflowTask/create\",\"status\":400,\"body\":\"{\\\"code\\\":6540,\\\"message\\\":\\\"bad request\\\",\\\"description\\\":\\\"header Authorization: Bearer $TOKEN rejected\\\"}\",\"times\":1}" >/dev/null
git -C "$T/app" checkout -q -b feature/echo main
commit "$T/app" "zadig echoes the token"
RC=0
git -C "$T/app" push origin feature/echo >"$T/out" 2>"$T/err" || RC=$?
expect "zadig echoing the token: the push succeeds, rejected" 0 "" "^$Z dev: rejected by zadig: .*6540.*Bearer \\*\\*\\*"
check "zadig echoing the token: the token is masked in what the pusher sees" clean "$T/err"
check "zadig echoing the token: ... and in the note" \
	bash -c "! git --git-dir='$G' notes --ref=zadig show feature/echo | grep -qF -- '$TOKEN'"

# a wrong token: the error names it as wrong, not by value
write_config "$T/cli.yaml" "$FAKE_URL"
ZADIG_TOKEN=wrong-$TOKEN run git zadig --config "$T/cli.yaml" show wf-dev 1
expect "git zadig, wrong token: refused" 1 "" "zadig refused the token \(HTTP 401\)"
check "git zadig, wrong token: not shown" bash -c "! grep -qF -- 'wrong-$TOKEN' '$T/err' '$T/out'"
run git -C "$T/app" zadig --config "$CFG" trigger --dry-run
expect "git zadig trigger --dry-run" 0 "# rule dev"
check "trigger --dry-run: no token in what would be sent" clean "$T/out" "$T/err"

# the token under a wrong key, or with a control character: the error
# points at it without quoting it
printf 'zadig:\n  url: %s\n  token: ${ZADIG_TOKEN}\n  tokn: "%s"\n' "$FAKE_URL" "$TOKEN" >"$T/typo.yaml"
run git zadig config check "$T/typo.yaml"
expect "config check: a token under a wrong key is reported" 2 "typo.yaml:4:"
check "config check: ... without its value" clean "$T/out" "$T/err"
printf 'zadig:\n  url: %s\n  token: "%s\\u0007"\n' "$FAKE_URL" "$TOKEN" >"$T/ctl.yaml"
run git zadig config check "$T/ctl.yaml"
expect "config check: a control character in the token is reported" 2 "control character"
check "config check: ... without the token" clean "$T/out" "$T/err"

# ---- the receiver, token from token_file ----
umask 077
printf '%s\n' "$TOKEN" >"$T/token"
cat >"$T/webhook.yaml" <<YAML
zadig:
  url: $FAKE_URL
  token_file: $T/token
  timeout: 2s
state_dir: $T/wstate
poll:
  interval: 200ms
webhook:
  secret: "$GL_SECRET"
  zadig_token: "$ZT"
  public_url: http://127.0.0.1:9
rules:
  - name: other
    repo: "other/*"
    workflow:
      name: wf-other
      env: dev
      callback: true
      targets: [{ name: lib, repos: [lib] }]
YAML
(unset ZADIG_TOKEN; wh_start "$T/webhook.yaml"; echo "$WH_PID" >"$T/wh.pid"; echo "$WH_URL" >"$T/wh.url")
WH_PID=$(cat "$T/wh.pid")
WH_URL=$(cat "$T/wh.url")
check "receiver: running" kill -0 "$WH_PID"
check "receiver: no secret on its command line" proc_clean "$WH_PID"
check "receiver: token_file: the token is not in its environment" \
	bash -c "! tr '\0' '\n' </proc/$WH_PID/environ | grep -qF -- '$TOKEN'"
printf '{"object_kind":"push","before":"%040d","after":"%040d","ref":"refs/heads/main","project":{"path_with_namespace":"other/lib"},"commits":[{"id":"%040d","message":"m","added":["a"]}],"total_commits_count":1}' 0 1 1 >"$T/push.json"
post /webhook/gitlab "$T/push.json" -H "X-Gitlab-Token: ${GL_SECRET}x" -H "X-Gitlab-Event: Push Hook" >/dev/null
want "receiver: a wrong X-Gitlab-Token gets 401" 401
check "receiver: the 401 names neither the given nor the expected secret" clean "$T/reply"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: s-1" >/dev/null
want "receiver: the right one 202" 202
check "receiver: the push got its task" wait_until 10 bash -c "curl -s '$FAKE_URL/__fake/tasks' | grep -q wf-other"
post /webhook/zadig "$T/push.json" -H "X-Zadig-Token: nope" >/dev/null
want "receiver: a wrong X-Zadig-Token gets 401" 401
check "receiver: that 401 names no secret" clean "$T/reply"
post "/callback/zadig?k=abc&s=$(hmac_hex "$GL_SECRET" abd)" "$T/push.json" >/dev/null
want "receiver: a forged callback gets 401" 401
check "receiver: that 401 names no secret" clean "$T/reply"
curl -s "$WH_URL/metrics" >"$T/metrics"
check "receiver: /metrics holds no secret" clean "$T/metrics"
kill -HUP "$WH_PID"
wait_until 5 log_has "reloaded"
wh_stop TERM
check "receiver: its log holds no secret" clean "$T/wh.err"
check "receiver: its store holds no secret" clean "$T/wstate"

# ---- everything else we wrote ----
check "the slow task's note is there" wait_note "$G" slow/s "^running wf-slow-build #1 " 5
git --git-dir="$G" log --all --notes=zadig >"$T/notes.txt"
check "notes were written" grep -q "rule=" "$T/notes.txt"
check "no secret in any note" clean "$T/notes.txt"
check "no secret in any state store or poller log" clean "$G/zadig-hook"
check "the fake received the token (the checks above had it to leak)" \
	bash -c "curl -s '$FAKE_URL/__fake/requests' | grep -qF -- 'Bearer $TOKEN'"
for pid in $(pollers); do kill -9 "$pid"; done
finish
