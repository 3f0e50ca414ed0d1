#!/bin/bash
# zadig-webhook SIGKILLed at random points while 200 events arrive
# concurrently (issue 6), a share of them before each kill. After each
# kill it is restarted on the same port and, as GitLab does, only the
# deliveries that got no 2xx are sent again. At the end every push has
# exactly one Zadig task: none of the accepted (202) events is lost, none
# triggers twice. No lease is cut short: the restarted receiver takes
# over the killed one's work when its leases end, as in production.
# Short form: 200 events, 2 kills; ZH_RELIABILITY_FULL=1: 200 events,
# 6 kills.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$(dirname "$0")/lib_rel.sh"

N=200
KILLS=$(scale 2 6)
fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
PORT=$(free_port)
CFG=$T/webhook.yaml
load_config "$CFG" "$T/state" 4 300ms 1s

mkdir -p "$T/ev" "$T/code"
: >"$T/expected"
for i in $(seq $N); do
	load_event "$T/ev/$i.json" "$i" "$i" $((i + 100000))
	printf 'wf-load %040x\n' "$i" >>"$T/expected"
	echo 000 >"$T/code/$i"
done

# start: the receiver on the fixed port (its stderr appended to wh.err).
start() {
	"$ZH_BIN/zadig-webhook" --config "$CFG" --listen "127.0.0.1:$PORT" \
		2>>"$T/wh.err" &
	WH_PID=$!
	WH_URL=http://127.0.0.1:$PORT
	wait_until 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null" ||
		echo "# the receiver did not come up on port $PORT:" \
			"$(tail -n 3 "$T/wh.err" | tr '\n' ' ')"
}

# pending [MAX]: the deliveries GitLab would send (again): no 2xx yet,
# among events 1 to MAX (default all of them).
pending() {
	grep -L '^2' "$T"/code/* | sed 's|.*/||' | awk -v m="${1:-$N}" '$1 <= m'
}
# answered: how many deliveries got a 2xx.
answered() {
	grep -l '^2' "$T"/code/* | wc -l
}

# deliver_one I: one delivery; its status replaces the last one.
deliver_one() {
	local c
	c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
		-H "X-Gitlab-Token: $GL_SECRET" -H "X-Gitlab-Event: Push Hook" \
		-H "Idempotency-Key: kill-$1" --data-binary @"$T/ev/$1.json" \
		"$WH_URL/webhook/gitlab" 2>/dev/null) || true
	echo "${c:-000}" >"$T/code/$1"
}
export -f deliver_one
export T GL_SECRET

# send [MAX]: the pending deliveries (of events 1 to MAX), 8 at a time,
# in a random order.
send() {
	WH_URL=$WH_URL pending "${1:-$N}" | shuf |
		WH_URL=$WH_URL xargs -P 8 -I{} bash -c 'deliver_one {}'
}

# Zadig answers creates a little slowly, so kills find requests in flight.
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":30,"times":-1}' >/dev/null

# Events keep arriving: each start gets its share of new ones (1/KILLS
# of them) with the redeliveries, so that every kill finds work in flight
# (on a fast machine the first start alone would take in all 200).
for k in $(seq "$KILLS"); do
	start
	WH_URL=http://127.0.0.1:$PORT send $((k * N / KILLS)) &
	SENDER=$!
	BG_PIDS+=("$SENDER")
	# a random point: 0 to 1.5 s after this start's first answer
	before=$(answered)
	wait_until 20 bash -c "[ \$(grep -l '^2' '$T'/code/* | wc -l) -gt $before ]"
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 151) / 100 }')"
	kill -9 "$WH_PID"
	wait "$WH_PID" 2>/dev/null
	rc=$?
	WH_PID=
	wait "$SENDER"
	check "kill $k: SIGKILL ended the receiver ($rc)" test "$rc" = 137
	acc=$(answered)
	echo "# kill $k: $acc of $N deliveries answered 2xx so far, $(task_pairs | wc -l) tasks"
done
DB=$T/state/state.db
echo "# left at the last kill: $(sqlite3 "$DB" "SELECT count(*) FROM events WHERE state='working'") events working, $(sqlite3 "$DB" "SELECT count(*) FROM triggers WHERE state='sending'") triggers sending"
check "no 5xx before the kills (only 2xx or no answer)" \
	test -z "$(cat "$T"/code/* | grep -v -e '^2' -e '^000$')"

# The last start: GitLab redelivers until every delivery got its 2xx.
start
for round in 1 2 3 4 5; do
	[ -z "$(pending)" ] && break
	WH_URL=http://127.0.0.1:$PORT send
done
check "every delivery answered 2xx in the end" test -z "$(pending)"
check "every answer was 202 accepted or 200 duplicate" \
	test -z "$(cat "$T"/code/* | grep -vE '^(200|202)$')"
check "every push got its task" wait_secs 90 tasks_cover "$T/expected"
check "no push got two tasks" no_dup_tasks
check "exactly $N tasks" test "$(task_pairs | wc -l)" = $N
check "every event is done" wait_until 30 bash -c \
	"[ \$(sqlite3 '$DB' \"SELECT count(*) FROM events WHERE state!='done'\") = 0 ]"
check "every trigger is created" wait_until 30 bash -c \
	"[ \$(sqlite3 '$DB' \"SELECT count(*) FROM triggers WHERE state!='created'\") = 0 ]"
check "the store is intact" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
sleep 1
check "still no duplicate" no_dup_tasks
wh_stop TERM
check "SIGTERM after the storm: exit 0" test "$WH_RC" = 0
check "no sanitizer report" sanitizer_clean "$T/wh.err"
check "no secret in the receiver's log" bash -c "! grep -qF -e '$GL_SECRET' -e '$TOKEN' '$T/wh.err'"
finish
