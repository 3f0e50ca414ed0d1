#!/bin/bash
# zadig-webhook while another process (a hook, git zadig, a backup) holds
# the state store locked past its 5 s busy timeout: an event waits for the
# store, its connection open, and is stored (and answered 202) once the
# lock goes, however long that takes; GitLab, which gives up after 10 s,
# then finds it stored and a resend a duplicate. Never a 503 for it but
# when the receiver stops first. /healthz and /metrics answer meanwhile.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
C1=$(printf '%040x' 1)
C2=$(printf '%040x' 2)

CFG=$T/webhook.yaml
wh_config "$CFG" "  public_url: http://127.0.0.1:9
rules:
  - name: src-only
    repo: g/norepo
    branches: [\"feature-*\"]
    paths: [\"src/**\"]
    workflow:
      name: wf-src
      env: dev
      targets:
        - name: app
          repos: [app]"
wh_start "$CFG"
check "the receiver starts" test -n "$WH_PORT"

# push_event FILE BRANCH: a push to BRANCH of g/norepo changing src/
push_event() {
	{
		printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/%s",' "$C1" "$C2" "$2"
		printf '"project":{"path_with_namespace":"g/norepo"},'
		printf '"commits":[{"id":"%s","message":"m","added":["src/lock.c"]}],"total_commits_count":1}' "$C2"
	} >"$1"
}


# send NAME MAX-TIME FILE KEY: POST the event in the background, as GitLab
# does (MAX-TIME: its timeout); $T/NAME.code, $T/NAME.reply, and
# $T/NAME.when: "held" when it was answered while the lock was held,
# $T/NAME.at: when (date +%s%N)
send() {
	(
		c=$(curl -sS --max-time "$2" -o "$T/$1.reply" -w '%{http_code}' -X POST \
			-H "X-Gitlab-Token: $GL_SECRET" -H "X-Gitlab-Event: Push Hook" \
			-H "Idempotency-Key: $4" --data-binary @"$3" \
			"$WH_URL/webhook/gitlab" 2>/dev/null) || c=000
		if held; then echo held; else echo late; fi >"$T/$1.when"
		date +%s%N >"$T/$1.at"
		echo "$c" >"$T/$1.code"
	) &
}
code_is() { [ "$(cat "$T/$1.code" 2>/dev/null)" = "$2" ]; }

# ---- a lock of 14 s ----
push_event "$T/a.json" feature-a
push_event "$T/b.json" feature-b
lock_store 14
check "another process holds the store's write lock" held
send a 25 "$T/a.json" busy-a
# GitLab's own timeout: it gives up on this one after 10 s
send b 10 "$T/b.json" busy-b
sleep 1
# a resend of it while the store is still locked
send b2 25 "$T/b.json" busy-b
sleep 1
# /healthz and /metrics answer while the events wait
curl -s -o "$T/hz" -w '%{http_code}' --max-time 12 "$WH_URL/healthz" >"$T/hz.code" || true
check "/healthz answers while the store is locked" held
check "... 503, the store busy, not full ($(cat "$T/hz.code") $(cat "$T/hz"))" \
	bash -c "[ \"\$(cat '$T/hz.code')\" = 503 ] && grep -q '^state store busy: another process holds its lock' '$T/hz'"
curl -s -o "$T/metrics" -w '%{http_code}' --max-time 12 "$WH_URL/metrics" >"$T/m.code" || true
check "/metrics answers while the store is locked" held
check "... 200 ($(cat "$T/m.code"))" test "$(cat "$T/m.code")" = 200
check "... counting received events" grep -q '^zadig_webhook_events_received_total 3$' "$T/metrics"
check "the wait is logged" log_has "the state store is busy: [12] events? waits? for it \(.*is busy"
sleep 3
check "nothing answered while the store is locked" \
	bash -c "! test -e '$T/a.code' && ! test -e '$T/b2.code'"
check "... GitLab's 10 s over: it gave up" wait_until 5 code_is b 000
wait "$LOCK_PID"
check "the lock gone: the event is answered 202" wait_until 10 code_is a 202
check "... its reply" grep -q '"id":"busy-a","status":"accepted"' "$T/a.reply"
check "... answered after the lock" grep -q late "$T/a.when"
check "the one GitLab gave up on is stored and fires" \
	wait_until 10 log_has "key=busy-b project=g/norepo ref=refs/heads/feature-b rules=src-only result=src-only:created"
check "its resend during the lock: a duplicate" wait_until 10 code_is b2 200
check "... its reply" grep -q '"status":"duplicate"' "$T/b2.reply"
check "the first fires" \
	wait_until 10 log_has "key=busy-a project=g/norepo ref=refs/heads/feature-a rules=src-only result=src-only:created"
check "the store taking them is logged" log_has "the state store took [12] events? after [0-9.]+ s"
sleep 1
check "one task for the one GitLab gave up on and resent" creates_are 1 '\"branch\":\"feature-b\"'
check "one task for the other" creates_are 1 '\"branch\":\"feature-a\"'
check "no 503" bash -c "! cat '$T/a.code' '$T/b.code' '$T/b2.code' | grep -q 503"
run curl -s "$WH_URL/metrics"
check "metrics: both accepted, one duplicate, none refused" bash -c "
	grep -q '^zadig_webhook_events_accepted_total 2$' '$T/out' &&
	grep -q '^zadig_webhook_events_duplicates_total 1$' '$T/out' &&
	grep -q '^zadig_webhook_events_rejected_total{reason=\"store\"} 0$' '$T/out'"
run curl -s -o "$T/hz" -w '%{http_code}' "$WH_URL/healthz"
check "/healthz once the lock is gone: 200 ok" \
	bash -c "[ '$OUT' = 200 ] && grep -qx ok '$T/hz'"

# ---- SIGTERM while the store is locked ----
# the stop waits for the event as long as it waits for any request (10 s),
# then answers it 503 and says it was not stored; the workers then finish
# their step (a store call waits 5 s at most for the lock)
push_event "$T/c.json" feature-c
lock_store 60
send c 30 "$T/c.json" busy-c
sleep 1.5
t0=$(date +%s%N)
wh_stop
ms=$((($(date +%s%N) - t0) / 1000000))
check "SIGTERM while the store is locked: exits (${ms} ms)" \
	test "$ms" -lt 17000
check "... exit 0" test "$WH_RC" = 0
check "... the store still locked" held
check "... the event answered 503" wait_until 5 code_is c 503
cms=$((($(cat "$T/c.at") - t0) / 1000000))
check "... once the drain's 10 s are over (${cms} ms)" \
	test "$cms" -ge 9500 -a "$cms" -lt 11500
check "... saying it was not stored" grep -q '"error":"the state store is busy .*not stored' "$T/c.reply"
check "... logged not stored" log_has "key=busy-c result=refused: .*busy.*; not stored: the receiver stopped first"
unlock_store

check "the token is in no log line" bash -c "! grep -qF -- '$TOKEN' '$T/wh.err'"
finish
