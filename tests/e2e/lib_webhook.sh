# Helpers for the zadig-webhook end-to-end tests; source after lib.sh.
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib_webhook.sh"

FIX=${ZH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fixtures/webhook
WH_PID=
WH_PORT=
WH_URL=
WH_RC=

wh_cleanup() {
	[ -n "$WH_PID" ] && kill -9 "$WH_PID" 2>/dev/null && wait "$WH_PID" 2>/dev/null
	cleanup
}
trap wh_cleanup EXIT

# wh_config FILE [YAML]: the receiver tests' configuration (write_config's
# zadig section, state_dir $T/state, fast polling, webhook.secret
# ${GL_SECRET}); YAML goes on inside the webhook map, then whatever
# follows it (rules: ...).
wh_config() {
	write_config "$1" "$FAKE_URL" "state_dir: $T/state
poll:
  interval: 200ms
  max_interval: 400ms
webhook:
  secret: \${GL_SECRET}
${2:-}"
}

# wh_start CONFIG [ARGS...]: start the receiver on 127.0.0.1, a port the
# kernel chooses; stderr goes to $T/wh.err (appended). Sets WH_PID,
# WH_PORT, WH_URL.
wh_start() {
	local cfg=$1
	shift
	rm -f "$T/wh.port"
	"$ZH_BIN/zadig-webhook" --config "$cfg" --listen 127.0.0.1:0 \
		--port-file "$T/wh.port" "$@" 2>>"$T/wh.err" &
	WH_PID=$!
	for _ in $(seq 200); do
		[ -s "$T/wh.port" ] && break
		kill -0 "$WH_PID" 2>/dev/null || break
		sleep 0.05
	done
	WH_PORT=$(cat "$T/wh.port" 2>/dev/null)
	WH_URL=http://127.0.0.1:$WH_PORT
}

# wh_stop [SIGNAL]: stop it (default TERM) and keep its exit status in WH_RC.
wh_stop() {
	WH_RC=
	[ -n "$WH_PID" ] || return 0
	kill -"${1:-TERM}" "$WH_PID" 2>/dev/null
	WH_RC=0
	wait "$WH_PID" 2>/dev/null || WH_RC=$?
	WH_PID=
}

# post PATH FILE [CURL-ARGS...]: POST the file; the status goes to $T/code,
# the reply body to $T/reply. Prints the status.
post() {
	local path=$1 file=$2
	shift 2
	curl -sS --max-time 10 -o "$T/reply" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' "$@" \
		--data-binary @"$file" "$WH_URL$path" >"$T/code" 2>"$T/curl.err" ||
		echo 000 >"$T/code"
	cat "$T/code"
}

# gitlab EVENT FILE [CURL-ARGS...]: a GitLab delivery with the right token.
gitlab() {
	local ev=$1 file=$2
	shift 2
	post /webhook/gitlab "$file" -H "X-Gitlab-Token: $GL_SECRET" \
		-H "X-Gitlab-Event: $ev" "$@"
}

# want NAME STATUS [PATTERN-IN-REPLY]: assert the last post's reply.
want() {
	local name=$1 status=$2 pat=${3:-}
	local got
	got=$(cat "$T/code")
	if [ "$got" != "$status" ]; then
		not_ok "$name" "expected HTTP $status, got $got: $(head -c 300 "$T/reply")"
	elif [ -n "$pat" ] && ! grep -qE -- "$pat" "$T/reply"; then
		not_ok "$name" "reply lacks /$pat/: $(head -c 300 "$T/reply")"
	else
		ok "$name"
	fi
}

# wait_until SECONDS COMMAND...: poll every 0.1 s until it succeeds.
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# creates FIXED-STRING...: how many create requests fake Zadig received
# whose JSON body holds every string (e.g. '\"commit\":\"<sha>\"').
creates() {
	fake_ctl GET requests >"$T/requests.json"
	grep -A6 '"path": "/api/directory/workflowTask/create"' \
		"$T/requests.json" | grep '"body"' |
		sed -e 's/\\": /\\":/g' >"$T/creates"
	local p
	for p in "$@"; do
		grep -F -- "$p" "$T/creates" >"$T/creates.n" || true
		mv "$T/creates.n" "$T/creates"
	done
	wc -l <"$T/creates" | tr -d ' '
}

# creates_are N FIXED-STRING...: exactly N such creates.
creates_are() {
	local n=$1
	shift
	[ "$(creates "$@")" = "$n" ]
}

# create_count_is N RULE COMMIT: exactly N creates for (rule, commit).
create_count_is() {
	[ "$(creates "\\\"commit\\\":\\\"$3\\\"" "\\\"rule\\\":\\\"$2\\\"")" = "$1" ]
}

# log_has PATTERN: the receiver's stderr matches (grep -E).
log_has() {
	grep -qE -- "$1" "$T/wh.err"
}

# metric NAME: its value from GET /metrics ("" when absent).
metric() {
	curl -s --max-time 5 "$WH_URL/metrics" |
		awk -v n="$1" '$1 == n {print $2; exit}'
}

# metric_ge NAME N: the metric is at least N.
metric_ge() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && [ "${v%.*}" -ge "$2" ]
}

# hmac_hex SECRET TEXT: hex HMAC-SHA256, as the callback's s=.
hmac_hex() {
	printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= //'
}

# sw_sign KEY ID TS FILE: the Standard Webhooks signature header value.
sw_sign() {
	local hex
	hex=$(printf '%s' "${1#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	{ printf '%s.%s.' "$2" "$3"; cat "$4"; } |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary |
		base64 | sed 's/^/v1,/'
}

# load_config FILE STATE_DIR WORKERS POLL_INTERVAL [POLL_MAX]: a receiver
# with the GitLab secret $GL_SECRET and one rule, "load", firing wf-load
# (callback on: fake Zadig's commitId lookup then knows each task's
# commit) for every branch of the projects load/*.
load_config() {
	write_config "$1" "$FAKE_URL" "state_dir: $2
poll:
  interval: $4${5:+
  max_interval: $5}
webhook:
  secret: \${GL_SECRET}
  public_url: http://127.0.0.1:9
  workers: $3
rules:
  - name: load
    repo: \"load/*\"
    workflow:
      name: wf-load
      env: dev
      callback: true
      targets:
        - name: app
          repos: [app]"
}

# load_event FILE N COMMIT BEFORE: a push of project load/app, branch b<N>,
# from commit <BEFORE> to commit <COMMIT> (numbers, written as 40 hex
# digits), with one commit in its list.
load_event() {
	printf '{"object_kind":"push","before":"%040x","after":"%040x","ref":"refs/heads/b%d","project":{"path_with_namespace":"load/app"},"commits":[{"id":"%040x","message":"m","added":["a.c"]}],"total_commits_count":1}' \
		"$4" "$3" "$2" "$3" >"$1"
}

# lock_store SECONDS: another process takes the write lock of the store in
# $T/state (write_config's state_dir) and holds it until $T/release
# appears (unlock_store) or SECONDS have passed. $T/locked appears once it
# holds the lock, $T/unlocking just before it lets go.
lock_store() {
	rm -f "$T/locked" "$T/unlocking" "$T/release"
	cat >"$T/hold.sh" <<SH
touch '$T/locked'
i=0
while [ ! -e '$T/release' ] && [ \$i -lt $(($1 * 20)) ]; do
	sleep 0.05
	i=\$((i + 1))
done
touch '$T/unlocking'
SH
	sqlite3 -cmd ".timeout 5000" "$T/state/state.db" "BEGIN IMMEDIATE;" \
		".shell sh $T/hold.sh" "ROLLBACK;" >/dev/null 2>&1 &
	LOCK_PID=$!
	wait_until 10 test -e "$T/locked"
}
unlock_store() {
	touch "$T/release"
	wait "$LOCK_PID"
}
# held: the lock holder has not begun to let go
held() {
	[ -e "$T/locked" ] && [ ! -e "$T/unlocking" ]
}
