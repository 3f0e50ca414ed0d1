#!/bin/bash
# Zadig's hints (design.md §6): the completion callback and the workflow
# notification are answered as soon as they are verified; what they ask
# of the state store (make the task due, deduplicate the notification) is
# done by a worker. So a store another process holds locked holds up no
# request but /healthz: not the hint's, not any other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
ZT="zt-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET ZT
CFG=$T/webhook.yaml
# wf-slow: fake Zadig never finishes its tasks, so the callback's task
# is still to be polled (a hint for a final task changes nothing)
wh_config "$CFG" "  zadig_token: \${ZT}
  public_url: http://127.0.0.1:9
  workers: 2
rules:
  - name: slow
    repo: \"load/*\"
    workflow:
      name: wf-slow
      env: dev
      callback: true
      targets:
        - name: app
          repos: [app]"
wh_start "$CFG"

# when: "held" while the lock holder has not begun to let go, else "late"
when() {
	if [ -e "$T/unlocking" ]; then echo late; else echo held; fi
}

# ---- a task with a callback URL ----
load_event "$T/e1.json" 1 1 5
gitlab "Push Hook" "$T/e1.json" -H "Idempotency-Key: e-1" >/dev/null
want "push: 202" 202
check "the task is created" wait_until 10 log_has "key=e-1 .*result=slow:created#1"
# fake Zadig's copy of it, pointed at this receiver
CB=$(fake_ctl GET tasks | sed -n 's#.*"callback_url": *"http://127\.0\.0\.1:9\(/callback/zadig?k=[0-9a-f]*&s=[0-9a-f]*\)".*#\1#p' | head -n1)
check "the task's callback URL is signed ($CB)" test -n "$CB"
printf '{"object_kind":"workflow","event":"workflow","workflow":{"task_id":1,"workflow_name":"wf-slow","status":"running"}}' >"$T/notify.json"

# ---- the store locked by another process ----
# held for at most 4 s, less than the 5 s a thread of the receiver waits
# for a lock: a request that waited for it is answered only after the
# holder began to let go ("late")
lock_store 4
check "another process holds the store's write lock" test -e "$T/locked"
(
	c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
		-d '{}' "$WH_URL$CB")
	echo "$c $(when)" >"$T/cb.res"
) &
cbp=$!
sleep 0.2 # the callback first, then the others
post /webhook/gitlab "$T/e1.json" -H "X-Gitlab-Token: wrong" >/dev/null
echo "$(cat "$T/code") $(when)" >"$T/401.res"
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: $ZT" -H "X-Zadig-Event-UUID: n-1" >/dev/null
echo "$(cat "$T/code") $(when)" >"$T/notify.res"
cp "$T/reply" "$T/notify.reply"
wait "$cbp"
check "locked store: the callback is answered 200 at once ($(cat "$T/cb.res"))" \
	test "$(cat "$T/cb.res")" = "200 held"
check "locked store: an unrelated request is answered at once ($(cat "$T/401.res"))" \
	test "$(cat "$T/401.res")" = "401 held"
check "locked store: the notification is answered 200 at once ($(cat "$T/notify.res"))" \
	test "$(cat "$T/notify.res")" = "200 held"
check "the notification's answer" grep -q '"id":"zadig:n-1","status":"accepted"' "$T/notify.reply"
unlock_store
check "once the store is free the callback makes the task due" \
	wait_until 10 log_has "callback for load/app/slow 000000000000 wf-slow #1: polling now"
check "once the store is free the notification is stored and the task re-read" \
	wait_until 10 log_has "key=zadig:n-1 workflow=wf-slow #1 result=refreshed"

# ---- /metrics while a thread of the receiver waits for the store ----
# (the worker taking a callback waits for the lock, holding the store):
# the scrape waits for the store, no other request does
lock_store 4
post "$CB" "$T/notify.json" >/dev/null
want "locked store: a callback a worker waits with" 200
sleep 0.3
(
	c=$(curl -s -o "$T/m.txt" -w '%{http_code}' --max-time 10 "$WH_URL/metrics")
	echo "$c $(when)" >"$T/m.res"
) &
mp=$!
sleep 0.2
post /webhook/gitlab "$T/e1.json" -H "X-Gitlab-Token: wrong" >/dev/null
echo "$(cat "$T/code") $(when)" >"$T/401.res"
check "locked store: a request after a scrape is answered at once ($(cat "$T/401.res"))" \
	test "$(cat "$T/401.res")" = "401 held"
unlock_store
wait "$mp"
check "and the scrape is answered once the store is free ($(cat "$T/m.res"))" \
	grep -q "^200 " "$T/m.res"
check "with the queue depth" grep -q "^zadig_webhook_queue_depth [0-9]" "$T/m.txt"

# ---- X-Zadig-Event-UUID deduplicated, off the request ----
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: $ZT" -H "X-Zadig-Event-UUID: n-1" >/dev/null
want "a redelivered notification: 200 (answered before it is deduplicated)" 200 '"status":"accepted"'
check "a redelivered notification is logged as a duplicate" \
	wait_until 10 log_has "key=zadig:n-1 result=duplicate"
check "a redelivered notification re-reads nothing" \
	test "$(grep -c 'key=zadig:n-1 workflow=' "$T/wh.err")" = 1
check "a redelivered notification is counted as a duplicate" \
	test "$(metric zadig_webhook_events_duplicates_total)" = 1

# ---- the queue of hints is bounded: a full one drops, once logged ----
lock_store 60
post "$CB" "$T/notify.json" >/dev/null
want "locked store: a callback taken by a worker, which waits" 200
sleep 0.3
for _ in $(seq 1000); do
	printf 'url = "%s"\noutput = "/dev/null"\n' "$WH_URL$CB"
done >"$T/many.cfg"
curl -s -K "$T/many.cfg" -X POST -d '{}' -w '%{http_code}\n' --max-time 60 \
	>"$T/many.codes" 2>/dev/null
echo "$(grep -c '^200$' "$T/many.codes") $(when)" >"$T/many.res"
check "locked store: 1000 callbacks answered 200 at once ($(cat "$T/many.res"))" \
	test "$(cat "$T/many.res")" = "1000 held"
check "a full queue is logged once" \
	test "$(grep -c 'the queue of hints is full' "$T/wh.err")" = 1
unlock_store
check "the hints that did not fit are counted" \
	metric_ge zadig_webhook_hints_dropped_total 1
n=$(grep -c 'callback for load/app/slow .*: polling now' "$T/wh.err")
check "the queued hints are acted on once the store is free" \
	wait_until 20 bash -c "[ \$(grep -c 'callback for load/app/slow .*: polling now' '$T/wh.err') -gt $n ]"

# ---- refusals are counted ----
K=${CB#*k=}
post "/callback/zadig?k=${K%%&*}" "$T/notify.json" >/dev/null
want "a callback without its signature: 401" 401
post "${CB%s=*}s=$(printf '0%.0s' $(seq 64))" "$T/notify.json" >/dev/null
want "a callback with a forged signature: 401" 401
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: wrong" >/dev/null
want "a notification with a wrong token: 401" 401
curl -s "$WH_URL/metrics" >"$T/metrics"
check "metrics: refused callbacks counted" \
	grep -q '^zadig_webhook_callbacks_total{result="refused"} 2$' "$T/metrics"
check "metrics: verified callbacks counted, the dropped ones too" \
	grep -q '^zadig_webhook_callbacks_total{result="accepted"} 1003$' "$T/metrics"
check "metrics: a refused notification is a token rejection (with the two 401s of GitLab's route)" \
	grep -q '^zadig_webhook_events_rejected_total{reason="token"} 3$' "$T/metrics"

wh_stop TERM
check "SIGTERM: exit 0" test "$WH_RC" = 0
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/wh.err'"
check "no secret in the receiver's log" bash -c "! grep -qF -e '$GL_SECRET' -e '$ZT' -e '$TOKEN' '$T/wh.err'"
finish
