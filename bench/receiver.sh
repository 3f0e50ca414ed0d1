#!/bin/bash
# The receiver against its peers (docs/BENCHMARKS.md, "Receiver"), side by
# side on 127.0.0.1, rounds alternating the servers:
#   zadig-webhook   GitLab push events: token checked, deduplicated (a new
#                   Idempotency-Key per request), stored durably before the
#                   202; no rule names the project: settled as stored
#   zadig-webhook-read  the same, with a rule for the project and branch
#                   whose paths filter the push does not meet: each event
#                   also goes through a worker (claimed, commits read from
#                   the payload, no rule fires, result stored)
#   zadig-webhook on tmpfs (with TMPFS=1; adds ~1 min): the
#                   same with state_dir in memory, where a disk flush costs
#                   nothing: what the code does when the disk is not the limit
#   bare            bench/bare_server: libmicrohttpd, token check, 202
#   bare-durable    bench/bare_server --durable --overwrite: the same,
#                   answering only once a 64-byte record per request is
#                   written to a file and flushed (one write and one
#                   fdatasync per batch, into blocks the file already has,
#                   as SQLite's WAL reuses its own), with libmicrohttpd's
#                   suspend and resume, as many HTTP threads as
#                   zadig-webhook: the floor of any receiver that flushes
#                   before its 202, nothing parsed or indexed
#   bare-queued     the same without the fdatasync: suspended, queued,
#                   written to the page cache, resumed; what the hand-off
#                   to another thread costs with libmicrohttpd, whatever
#                   the disk
#   webhook (a)     Debian's webhook (adnanh/webhook), X-Gitlab-Token rule
#                   that does not match
#   webhook (b)     the same rule matching, running /bin/true
# Each: wrk -t2 -c32 -d${DURATION}s with bench/wrk-gitlab.lua (the 2.6 KB
# GitLab push payload of tests/fixtures/webhook/push.json), ROUNDS rounds;
# median and min-max of requests/s, server CPU per request (utime + stime,
# children included, over the wrk run), peak RSS (VmHWM). Then bench/pace at
# RATE requests/s for PACE_S seconds against zadig-webhook and webhook (a):
# latency percentiles and the RSS peak under that load.
#
# Usage: bench/receiver.sh          (BUILD=build, ROUNDS=3, DURATION=10,
#                                    RATE=1000, PACE_S=10, TMPFS=0)
# Needs a build with zadig-webhook, bench/bare_server, bench/pace and
# tests/fake-zadig/fake-zadig; installs wrk and webhook with apt-get when
# missing (run as root). Everything listens on 127.0.0.1 only.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RATE=${RATE:-1000}
PACE_S=${PACE_S:-10}
TMPFS=${TMPFS:-0}
LUA=$SRC/bench/wrk-gitlab.lua
HZ=$(getconf CLK_TCK)

for b in zadig-webhook bench/bare_server bench/pace tests/fake-zadig/fake-zadig; do
	[ -x "$BUILD/$b" ] || { echo "receiver.sh: no $BUILD/$b (build it first)" >&2; exit 2; }
done
if ! command -v wrk >/dev/null || ! command -v webhook >/dev/null; then
	apt-get install -y -q wrk webhook >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q wrk webhook >/dev/null; }
fi

T=$(mktemp -d /tmp/zh-bench-receiver.XXXXXX)
SHM=
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T" ${SHM:+"$SHM"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# GitLab's push payload (tests/fixtures/webhook/push.json), its commit list
# made whole (total_commits_count 2, as listed, not 4): the changed paths
# are known from the payload, so zadig-webhook-read's paths filter can
# say no without a repository
BODY=$T/push.json
sed 's/"total_commits_count": 4/"total_commits_count": 2/' \
	"$SRC/tests/fixtures/webhook/push.json" >"$BODY"
grep -q '"total_commits_count": 2' "$BODY" || { echo "receiver.sh: push.json changed" >&2; exit 2; }
SECRET="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export BODY TOKEN=$SECRET

# wait_file FILE: until it is non-empty (10 s)
wait_file() {
	local _
	for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "receiver.sh: $1 never appeared" >&2
	return 1
}

# free_port: a port nobody listens on now (for webhook, which cannot
# report the one it got)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ticks PID: CPU clock ticks of the process and its reaped children
ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'
}

# thread_ticks PID: "intake processing" ticks: HTTP threads (MHD-worker)
# and the committer (zh-commit), and the workers (zh-worker)
thread_ticks() {
	cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{
		n = $0; sub(/^[^(]*\(/, "", n); sub(/\).*$/, "", n)
		r = $0; sub(/^.*\) /, "", r); split(r, f, " ")
		t = f[12] + f[13]
		if (n == "zh-worker") p += t; else i += t
	} END { print i + 0, p + 0 }'
}

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# settle PID...: wait until the processes are idle (queued work done:
# zadig-webhook's workers, webhook (b)'s commands), 60 s max
settle() {
	local a b _
	for _ in $(seq 120); do
		a=$(for p in "$@"; do ticks "$p"; done | awk '{n += $1} END {print n}')
		sleep 0.5
		b=$(for p in "$@"; do ticks "$p"; done | awk '{n += $1} END {print n}')
		[ $((b - a)) -le $# ] && return 0
	done
}

# ---- the servers ----
"$BUILD/tests/fake-zadig/fake-zadig" --listen 127.0.0.1 --port 0 \
	--port-file "$T/fake.port" --token zadig-token >/dev/null 2>&1 &
PIDS+=($!)
wait_file "$T/fake.port"

declare -A URL PID
names=()

OTHER_RULE="  - { name: other, repo: other/project, branches: [main], workflow: { name: wf, env: dev, targets: [{ name: s, repos: [r] }] } }"
# zh NAME STATE_DIR [RULE]: zadig-webhook with the default workers, no
# repository, and a rule for another project (settled as stored, nothing
# to trigger), or RULE (YAML, one rule)
zh() {
	cat >"$T/$1.yaml" <<YAML
zadig:
  url: http://127.0.0.1:$(cat "$T/fake.port")
  token: zadig-token
state_dir: $2
webhook:
  secret: $SECRET
rules:
${3:-$OTHER_RULE}
YAML
	ZADIG_HOOK_CONFIG= "$BUILD/zadig-webhook" --config "$T/$1.yaml" \
		--listen 127.0.0.1:0 --port-file "$T/$1.port" 2>"$T/$1.log" &
	PID[$1]=$!
	PIDS+=($!)
	wait_file "$T/$1.port"
	URL[$1]=http://127.0.0.1:$(cat "$T/$1.port")/webhook/gitlab
	names+=("$1")
}
zh zadig-webhook "$T/state"
zh zadig-webhook-read "$T/state-read" "  - { name: src, repo: mike/diaspora, branches: [master], paths: ['nothing/**'], workflow: { name: wf, env: dev, targets: [{ name: s, repos: [r] }] } }"
if [ "$TMPFS" = 1 ]; then
	SHM=$(mktemp -d /dev/shm/zh-bench-receiver.XXXXXX)
	zh zadig-webhook-tmpfs "$SHM/state"
fi

"$BUILD/bench/bare_server" --token "$SECRET" --port 0 --port-file "$T/bare.port" &
PID[bare]=$!
PIDS+=($!)
wait_file "$T/bare.port"
URL[bare]=http://127.0.0.1:$(cat "$T/bare.port")/webhook/gitlab
names+=(bare)

# zadig-webhook's HTTP threads (webhook/server.c http_threads)
[ "$(nproc)" -ge 4 ] && HTTP_THREADS=2 || HTTP_THREADS=1
"$BUILD/bench/bare_server" --token "$SECRET" --port 0 --port-file "$T/bare-durable.port" \
	--threads "$HTTP_THREADS" --durable "$T/bare-durable.log" --overwrite &
PID[bare-durable]=$!
PIDS+=($!)
wait_file "$T/bare-durable.port"
URL[bare-durable]=http://127.0.0.1:$(cat "$T/bare-durable.port")/webhook/gitlab
names+=(bare-durable)
"$BUILD/bench/bare_server" --token "$SECRET" --port 0 --port-file "$T/bare-queued.port" \
	--threads "$HTTP_THREADS" --durable "$T/bare-queued.log" --overwrite --no-sync &
PID[bare-queued]=$!
PIDS+=($!)
wait_file "$T/bare-queued.port"
URL[bare-queued]=http://127.0.0.1:$(cat "$T/bare-queued.port")/webhook/gitlab
names+=(bare-queued)

# wh NAME TOKEN-IN-RULE: adnanh/webhook with one hook, /hooks/gitlab
wh() {
	local port
	cat >"$T/$1.json" <<JSON
[{"id": "gitlab", "execute-command": "/bin/true",
  "trigger-rule": {"match": {"type": "value", "value": "$2",
    "parameter": {"source": "header", "name": "X-Gitlab-Token"}}}}]
JSON
	port=$(free_port)
	webhook -hooks "$T/$1.json" -ip 127.0.0.1 -port "$port" >"$T/$1.log" 2>&1 &
	PID[$1]=$!
	PIDS+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	URL[$1]=http://127.0.0.1:$port/hooks/gitlab
	names+=("$1")
}
wh webhook-a "not-$SECRET"
wh webhook-b "$SECRET"

# every server says yes to one delivery before anything is measured
for n in "${names[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
		-H "X-Gitlab-Token: $SECRET" -H 'X-Gitlab-Event: Push Hook' \
		-H "Idempotency-Key: warm-$n" -H 'Content-Type: application/json' \
		--data-binary @"$BODY" "${URL[$n]}")
	case $code in 2??) ;; *) echo "receiver.sh: $n answered $code" >&2; exit 1 ;; esac
done

machine
echo "payload: $(wc -c <"$BODY") bytes; wrk -t2 -c32 -d${DURATION}s; $ROUNDS rounds; CLK_TCK $HZ"
echo "fsync of this disk, 4 KiB write + fdatasync: $(python3 -c '
import os, time
p = "'"$T"'/fsync"
out = []
for mode in ("appended", "over blocks the file has"):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    if mode != "appended":
        os.write(fd, b"\0" * (1 << 20)); os.fsync(fd); os.lseek(fd, 0, 0)
    t = time.time()
    for i in range(100):
        os.write(fd, b"x" * 4096); os.fdatasync(fd)
    out.append("%.2f ms %s" % ((time.time() - t) / 100 * 1e3, mode))
    os.close(fd)
print(", ".join(out))
os.unlink(p)')"

declare -A RPS CPU NON2XX
# one NAME ROUND: one wrk run; appends to RPS/CPU
one() {
	local n=$1 p=${PID[$1]} t0 t1 out rps reqs bad us i0 p0 i1 p1
	settle "${PID[@]}"
	t0=$(ticks "$p")
	read -r i0 p0 <<<"$(thread_ticks "$p")"
	out=$(wrk -t2 -c32 -d"${DURATION}s" -s "$LUA" "${URL[$n]}")
	t1=$(ticks "$p")
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	bad=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
	us=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v r="$reqs" 'BEGIN { printf "%.0f", t * 1e6 / hz / r }')
	RPS[$n]+="$rps "
	CPU[$n]+="$us "
	NON2XX[$n]=$((${NON2XX[$n]:-0} + bad))
	local extra=""
	if [[ $n == zadig-webhook* ]]; then
		# the workers finish the backlog: all the CPU an event costs
		settle "$p"
		read -r i1 p1 <<<"$(thread_ticks "$p")"
		extra=$(awk -v i=$((i1 - i0)) -v q=$((p1 - p0)) -v hz="$HZ" -v r="$reqs" 'BEGIN {
			printf ", until processed: intake %.0f + workers %.0f us/event", i * 1e6 / hz / r, q * 1e6 / hz / r }')
		ALL_IN[$n]+="$(awk -v i=$((i1 - i0)) -v hz="$HZ" -v r="$reqs" 'BEGIN { printf "%.0f", i * 1e6 / hz / r }') "
		ALL_WK[$n]+="$(awk -v q=$((p1 - p0)) -v hz="$HZ" -v r="$reqs" 'BEGIN { printf "%.0f", q * 1e6 / hz / r }') "
	fi
	printf '  %-20s %7s req/s  %5s us CPU/req  %s non-2xx%s\n' "$n" "$rps" "$us" "$bad" "$extra"
}
declare -A ALL_IN ALL_WK

for r in $(seq "$ROUNDS"); do
	echo "round $r:"
	# alternate the order so that no server always runs first
	if [ $((r % 2)) = 1 ]; then order=("${names[@]}"); else
		order=(); for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[$i]}"); done
	fi
	for n in "${order[@]}"; do one "$n"; done
done

# ---- latency at a fixed rate ----
declare -A PACE PRSS
for n in zadig-webhook webhook-a; do
	p=${PID[$n]}
	settle "${PID[@]}"
	echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true # reset VmHWM
	PACE[$n]=$("$BUILD/bench/pace" --url "${URL[$n]}" --body "$BODY" \
		--rate "$RATE" --seconds "$PACE_S" --conns 32 \
		--header "X-Gitlab-Token: $SECRET" --header 'X-Gitlab-Event: Push Hook')
	PRSS[$n]=$(hwm "$p")
	echo "paced $RATE req/s, ${PACE_S}s, $n: ${PACE[$n]} rss_peak_kb=${PRSS[$n]}"
done

# ---- summary ----
echo
echo "| server | req/s median (min-max) | CPU us/req median (min-max) | peak RSS | non-2xx |"
echo "|---|---|---|---|---|"
declare -A MED MEDCPU
for n in "${names[@]}"; do
	read -r m lo hi <<<"$(stats ${RPS[$n]})"
	read -r cm clo chi <<<"$(stats ${CPU[$n]})"
	MED[$n]=$m
	MEDCPU[$n]=$cm
	printf '| %s | %s (%s-%s) | %s (%s-%s) | %s MB | %s |\n' "$n" "$m" "$lo" "$hi" \
		"$cm" "$clo" "$chi" "$(awk -v k="$(hwm "${PID[$n]}")" 'BEGIN {printf "%.1f", k / 1024}')" "${NON2XX[$n]}"
done
for n in zadig-webhook zadig-webhook-read zadig-webhook-tmpfs; do
	[ -n "${ALL_IN[$n]:-}" ] || continue
	echo "$n, CPU per event until processed (median): intake (HTTP + committer) $(stats ${ALL_IN[$n]} | cut -d' ' -f1) us, workers $(stats ${ALL_WK[$n]} | cut -d' ' -f1) us"
done
pct() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
zp99=$(pct "${PACE[zadig-webhook]}" p99_us)
zp50=$(pct "${PACE[zadig-webhook]}" p50_us)
zerr=$(pct "${PACE[zadig-webhook]}" errors)
zrss=${PRSS[zadig-webhook]}
z=${MED[zadig-webhook]}
zc=$(stats ${CPU[zadig-webhook]} | cut -d' ' -f1)
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
echo
echo "targets (zadig-webhook, state on disk):"
echo "  >= 0.5x bare:         $(ratio "$z" "${MED[bare]}")x  $(verdict "$z >= 0.5 * ${MED[bare]}")"
echo "  >= 5x webhook (a):    $(ratio "$z" "${MED[webhook-a]}")x  $(verdict "$z >= 5 * ${MED[webhook-a]}")"
echo "  >= 10x webhook (b):   $(ratio "$z" "${MED[webhook-b]}")x  $(verdict "$z >= 10 * ${MED[webhook-b]}")"
echo "  <= 30 us CPU/event:   $zc us  $(verdict "$zc <= 30")"
echo "  (the durable floor, bare-durable: $(ratio "${MED[bare-durable]}" "${MED[bare]}")x bare, $(stats ${CPU[bare-durable]} | cut -d' ' -f1) us CPU/event; zadig-webhook $(ratio "$z" "${MED[bare-durable]}")x of it)"
echo "  (the hand-off alone, bare-queued, no flush: $(ratio "${MED[bare-queued]}" "${MED[bare]}")x bare, $(stats ${CPU[bare-queued]} | cut -d' ' -f1) us CPU/event)"
echo "  p99 <= 10 ms at $RATE/s: p50 $(awk -v u="$zp50" 'BEGIN {printf "%.2f", u / 1000}') ms, p99 $(awk -v u="$zp99" 'BEGIN {printf "%.2f", u / 1000}') ms, $zerr errors  $(verdict "$zp99 <= 10000 && $zerr == 0")"
echo "  RSS <= 16 MB at $RATE/s: $(awk -v k="$zrss" 'BEGIN {printf "%.1f", k / 1024}') MB (webhook (a): $(awk -v k="${PRSS[webhook-a]}" 'BEGIN {printf "%.1f", k / 1024}') MB)  $(verdict "$zrss <= 16384")"
r=${MED[zadig-webhook-read]}
echo "events a worker reads (zadig-webhook-read): $(ratio "$r" "${MED[bare]}")x bare, $(ratio "$r" "${MED[webhook-a]}")x webhook (a), $(ratio "$r" "${MED[webhook-b]}")x webhook (b), $(stats ${CPU[zadig-webhook-read]} | cut -d' ' -f1) us CPU/event"
if [ -n "${MED[zadig-webhook-tmpfs]:-}" ]; then
	t=${MED[zadig-webhook-tmpfs]}
	echo "state on tmpfs (no flush cost): $(ratio "$t" "${MED[bare]}")x bare, $(ratio "$t" "${MED[webhook-a]}")x webhook (a), $(ratio "$t" "${MED[webhook-b]}")x webhook (b)"
fi
