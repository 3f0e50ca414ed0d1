#!/bin/bash
# zadig-webhook killed with SIGKILL in the middle of 200 deliveries, then
# restarted while GitLab redelivers all of them: every push triggers
# Zadig exactly once, none is lost (design.md §8, §9).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

N=200
fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
CFG=$T/webhook.yaml
load_config "$CFG" "$T/state" 4 500ms

# One push per branch b<i>, commit <i>; no repository is configured, so
# the payload's commit list is used. callback: true puts the commit into
# callback_vars, from which fake Zadig's commitId lookup knows it (real
# Zadig knows the commit it built): that is how a trigger interrupted
# after sending is found again instead of being sent twice.
mkdir -p "$T/ev"
for i in $(seq $N); do
	load_event "$T/ev/$i.json" "$i" "$i" $((i + 100000))
done

# send_all: every delivery, 8 at a time, each with its own key; codes to
# $T/codes.
send_all() {
	seq $N | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
		--max-time 10 -X POST -H "X-Gitlab-Token: $GL_SECRET" \
		-H "X-Gitlab-Event: Push Hook" -H "Idempotency-Key: kill-{}" \
		--data-binary @"$T/ev/{}.json" "$WH_URL/webhook/gitlab" \
		>"$T/codes" 2>/dev/null
}

branches() {
	creates >/dev/null
	grep -o '\\"branch\\":\\"b[0-9]*\\"' "$T/creates"
}
created_at_least() { [ "$(branches | wc -l)" -ge "$1" ]; }

# Zadig answers creates slowly, so that the kill finds requests in flight.
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":40,"times":-1}' >/dev/null
wh_start "$CFG"
send_all &
SENDER=$!
check "some deliveries processed before the kill" wait_until 30 created_at_least 20
wh_stop KILL
wait "$SENDER"
check "SIGKILL: the receiver died" test "$WH_RC" = 137
echo "# before the kill: $(grep -c '^202$' "$T/codes") accepted, $(branches | wc -l) created"

# What a crash leaves: events 'working' and triggers 'sending' whose
# leases have not run out. Let the clock jump past the leases instead of
# waiting (events: 10 s, triggers: 5 min); a trigger that was sent is then
# reconciled with Zadig's commitId lookup, not sent again.
DB=$T/state/state.db
echo "# in flight at the kill: $(sqlite3 "$DB" "SELECT count(*) FROM events WHERE state='working'") events, $(sqlite3 "$DB" "SELECT count(*) FROM triggers WHERE state='sending'") triggers"
sqlite3 "$DB" "UPDATE events SET lease_until_ms=0 WHERE state='working';
	UPDATE triggers SET lease_until_ms=0 WHERE state='sending';"
# Events stored but not processed are read back from the store by the
# restarted receiver: what was stored for them is the event's compact
# form (zh_gitlab_compact: the fields a worker reads, in its own order),
# not the body as delivered.
waiting=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE state IN ('new', 'working')")
echo "# stored, not processed at the kill: $waiting events"
check "events wait in the store at the kill" test "$waiting" -gt 0
check "what a worker reads back is the compact form" test "$(sqlite3 "$DB" \
	"SELECT count(*) FROM event_payloads WHERE payload NOT LIKE
	'{\"object_kind\":\"push\",\"project\":{\"path_with_namespace\":\"load/app\"},\"ref\":%'")" = 0

wh_start "$CFG"
send_all
check "redelivery after restart: every delivery answered 200 or 202" \
	bash -c "[ \$(grep -cE '^(200|202)$' '$T/codes') = $N ]"
check "all $N pushes triggered" wait_until 60 created_at_least $N
branches | sort | uniq -d >"$T/dups"
check "no push triggered twice" test ! -s "$T/dups"
one_per_branch() {
	[ "$(branches | sort -u | wc -l)" = $N ] && [ "$(grep -c . "$T/creates")" = $N ]
}
check "exactly $N creates, one per branch" one_per_branch
check "every event done" wait_until 10 bash -c \
	"[ \$(sqlite3 '$DB' \"SELECT count(*) FROM events WHERE state!='done'\") = 0 ]"
wh_stop TERM
check "SIGTERM after the storm: exit 0" test "$WH_RC" = 0
finish
