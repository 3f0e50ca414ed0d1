#!/bin/bash
# zadig-webhook: a trigger Zadig does not take at once is queued, and the
# log says why, on the event's line and on each retry's; a trigger that has
# no task yet is never shown with a task number.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

W=$T/app
git init -q "$W"
echo a >"$W/a.c"
git -C "$W" add -A && git -C "$W" commit -qm one
C1=$(git -C "$W" rev-parse HEAD)
echo b >>"$W/a.c"
git -C "$W" commit -qam two
C2=$(git -C "$W" rev-parse HEAD)

CFG=$T/webhook.yaml
wh_config "$CFG" "  public_url: http://127.0.0.1:9
  repos:
    - project: g/app
      path: $W
rules:
  - name: dev
    repo: g/app
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      callback: true
      targets:
        - name: app
          repos: [app]"
wh_start "$CFG"

printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/main","project":{"path_with_namespace":"g/app"},"commits":[],"total_commits_count":1}' \
	"$C1" "$C2" >"$T/push.json"

# a 503 without Zadig's error body (a proxy's): Zadig may have made the
# task behind it, so the retry waits zadig.timeout, then looks it up
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","status":503,"body":"","times":1}' >/dev/null
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: q-1" >/dev/null
want "push: 202" 202 '"status":"accepted"'
check "the event's line says why the trigger is queued" \
	wait_until 10 log_has "key=q-1 project=g/app ref=refs/heads/main rules=dev result=dev:queued \(.*503.*\)$"
# Zadig's callback while the trigger has no task yet (the task Zadig may
# have made behind the 503 ended): no task number either
cb=$(fake_ctl GET requests | grep -o 'callback/zadig?k=[0-9a-f]*&s=[0-9a-f]*' | head -n 1)
check "the create asked for a callback" test -n "$cb"
post "/$cb" "$T/push.json" >/dev/null
want "callback: 200" 200
check "the callback's line names no task number" \
	wait_until 5 log_has "^zadig-webhook: callback for g/app/dev ${C2:0:12} wf-dev: polling now$"
check "a retry in zadig.timeout says why it waits, without a task number" \
	wait_until 10 log_has "^zadig-webhook: g/app/dev ${C2:0:12}: queued wf-dev: an earlier request may still be in progress at zadig$"
check "then it is created, with its task number" \
	wait_until 15 log_has "^zadig-webhook: g/app/dev ${C2:0:12}: created wf-dev #1$"
check "no line shows #0" bash -c "! grep -q '#0' '$T/wh.err'"
check "two creates: the one answered 503, the one after the lookup" \
	creates_are 2 '\"branch\":\"main\"'
check "one task" test "$(fake_ctl GET tasks | grep -c '"task_id"')" = 1

wh_stop
check "stops cleanly" test "$WH_RC" = 0
finish
