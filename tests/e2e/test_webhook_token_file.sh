#!/bin/bash
# The receiver started with a zadig.token_file it cannot read: it starts
# and says so loudly, /healthz stays 200, events are accepted (202) and
# their triggers kept queued, and once the file can be read they are
# delivered, without a restart or SIGHUP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
TF=$T/token
# named through the environment: messages say it as written
export TOKEN_FILE=$TF
RAW='\$\{TOKEN_FILE\}' # as a grep -E pattern
CFG=$T/webhook.yaml
cat >"$CFG" <<YAML
zadig:
  url: $FAKE_URL
  token_file: \${TOKEN_FILE}
  timeout: 2s
state_dir: $T/state
poll:
  interval: 200ms
  max_interval: 1s
webhook:
  secret: \${GL_SECRET}
rules:
  - name: load
    repo: "load/*"
    workflow:
      name: wf-load
      env: dev
      targets:
        - name: app
          repos: [app]
YAML
WHY="$CFG:3:15: cannot read token file '$RAW': No such file or directory"

wh_start "$CFG"
check "unreadable token file: the receiver starts" \
	bash -c "test -n '$WH_PORT' && kill -0 $WH_PID"
check "unreadable token file: it says so loudly" \
	log_has "^zadig-webhook: warning: CANNOT READ THE ZADIG TOKEN: $WHY; events are accepted and their triggers stay queued until it can be read$"
run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "unreadable token file: /healthz 200" 0 "^200$"

load_event "$T/push.json" 1 2 1
gitlab "Push Hook" "$T/push.json" -H "X-Gitlab-Event-UUID: token-file-1" >/dev/null
want "unreadable token file: the event is accepted" 202 '"status": *"accepted"'
check "unreadable token file: the trigger is kept, loudly" wait_until 20 \
	log_has "CANNOT READ THE ZADIG TOKEN for load/app/load: $WHY; the trigger stays queued until it can be read"
check "unreadable token file: counted held" \
	metric_ge 'zadig_webhook_triggers_total{result="held"}' 1
check "unreadable token file: nothing sent" creates_are 0 wf-load

# the file is there now: no restart, no SIGHUP
printf '%s\n' "$TOKEN" >"$TF"
chmod 600 "$TF"
check "token file fixed: the trigger is delivered" \
	wait_until 30 creates_are 1 wf-load
check "token file fixed: the receiver still runs" kill -0 "$WH_PID"
run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "token file fixed: /healthz 200" 0 "^200$"
sleep 1
check "token file fixed: delivered once" creates_are 1 wf-load

# a token Zadig refuses, from the file: the line names the file (it used
# to say "check zadig.token") and that the receiver reads it on SIGHUP
printf 'not-the-token\n' >"$TF"
kill -HUP "$WH_PID"
wait_until 5 log_has "reloaded $CFG"
load_event "$T/push2.json" 2 3 2
gitlab "Push Hook" "$T/push2.json" -H "X-Gitlab-Event-UUID: token-file-2" >/dev/null
want "refused token: the event is accepted" 202 '"status": *"accepted"'
check "refused token: the line names the token file" wait_until 20 \
	log_has "ZADIG REFUSED THE TOKEN for load/app/load: zadig refused the token \(HTTP 401\): check zadig.token_file '$RAW'; the trigger stays queued until the token is fixed; zadig-webhook reads zadig.token_file again when it changes \(or on SIGHUP\)$"
# the file rotated, no SIGHUP: the receiver sees it change and reloads
n=$(grep -c "reloaded $CFG" "$T/wh.err")
sleep 1.1 # a later change time than the refused token's file
printf '%s\n' "$TOKEN" >"$TF"
check "refused token: the file rotated, no SIGHUP: delivered" \
	wait_until 30 log_has "load/app/load [0-9a-f]{12}: created wf-load #2$"
check "refused token: it said why it reloaded" \
	log_has "^zadig-webhook: zadig.token_file changed: reloading the configuration$"
check "refused token: one reload for the change" \
	test "$(grep -c "reloaded $CFG" "$T/wh.err")" = $((n + 1))
wh_stop
check "the receiver stops cleanly" test "$WH_RC" = 0
check "no sanitizer report from the receiver" \
	bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/wh.err'"
check "the token is not in the receiver's log" \
	bash -c "! grep -qF -- '$TOKEN' '$T/wh.err'"

finish
