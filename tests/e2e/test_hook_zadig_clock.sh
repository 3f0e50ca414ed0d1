#!/bin/bash
# Zadig's clock behind ours: a create that timed out but made its task is
# found by the commitId lookup, whatever the two clocks say (Zadig names
# the task made two minutes before, by its clock, the trigger was
# recorded, by ours), and not created a second time by the retry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"
# callbacks carry the commit, which the fake's commitId lookup needs; no
# poller: `git zadig sync` sends the retry
hook_config "$T/cfg.yaml" "$FAKE_URL" sync 5s '
webhook:
  public_url: http://127.0.0.1:9/hooks
  secret: callback-secret'
sed -i -e 's/^  timeout: 2s$/  timeout: 1s/' \
	-e 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' \
	-e 's/^      env: dev$/      env: dev\n      callback: true/' "$T/cfg.yaml"
new_repo app "$T/cfg.yaml"
G=$T/app.git

fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":1500,"times":1}' >/dev/null
hrun git -C "$T/app" push origin main
expect "the create times out" 0 "" \
	"^$Z dev: queued, zadig did not answer within [0-9]+ms; will retry"
check "zadig made the task all the same" wait_creates wf-dev 1
# Zadig's clock is two minutes behind ours
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-dev\",\"task_id\":1,\"create_time\":$(($(date +%s) - 120))}" >/dev/null
sleep 1.2 # zadig.timeout: the earlier request's time
run_in "$G" git zadig sync
expect "sync finds the task" 0 "^delivered 1 trigger, "
check "no second create" test "$(creates wf-dev)" = 1
check "the note has the task" \
	wait_note "$G" main "^(created|running|passed) wf-dev #1 .*rule=dev$" 2
finish
