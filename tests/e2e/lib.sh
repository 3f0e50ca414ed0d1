# Shared helpers for the end-to-end tests. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Needs ZH_BIN (directory of the programs) and ZH_FAKE (fake-zadig binary).
set -u

: "${ZH_BIN:?ZH_BIN must name the directory of the programs}"
: "${ZH_FAKE:?ZH_FAKE must name the fake-zadig binary}"

T=$(mktemp -d /tmp/zh-e2e.XXXXXX)
export HOME=$T/home
mkdir -p "$HOME"
export PATH=$ZH_BIN:$PATH
export GIT_CONFIG_NOSYSTEM=1
unset ZADIG_HOOK_CONFIG GIT_DIR GIT_WORK_TREE
git config --global user.name "E2E Tester"
git config --global user.email "e2e@example.com"
git config --global init.defaultBranch main
git config --global protocol.file.allow always

# A token the tests can search for in every output: it must never show up.
TOKEN="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-secret"
export ZADIG_TOKEN=$TOKEN

PASS=0
FAIL=0
FAKE_PID=
OUT=
ERR=
RC=0

cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
	echo "#   exit: $RC"
	echo "#   stdout: $(head -c 2000 "$T/out")"
	echo "#   stderr: $(head -c 2000 "$T/err")"
}

# run CMD...: run, keep stdout/stderr/exit in OUT, ERR, RC.
run() {
	RC=0
	"$@" >"$T/out" 2>"$T/err" </dev/null || RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if grep -q -- "$TOKEN" "$T/out" "$T/err"; then
		not_ok "token leaked by: $*"
	fi
}

# run_in DIR CMD...: run CMD with DIR as its working directory, as run
# does, in this shell: RC, OUT and ERR stay set for expect (a subshell
# `(cd DIR && run CMD)` would lose them).
run_in() {
	local dir=$1
	shift
	run env -C "$dir" "$@"
}

# expect NAME RC [PATTERN-IN-STDOUT [PATTERN-IN-STDERR]] (grep -E patterns)
expect() {
	local name=$1 want=$2 out=${3:-} err=${4:-}
	if [ "$RC" != "$want" ]; then
		not_ok "$name" "expected exit $want"
	elif [ -n "$out" ] && ! grep -qE -- "$out" "$T/out"; then
		not_ok "$name" "stdout lacks /$out/"
	elif [ -n "$err" ] && ! grep -qE -- "$err" "$T/err"; then
		not_ok "$name" "stderr lacks /$err/"
	else
		ok "$name"
	fi
}

# check NAME COMMAND...: a plain assertion.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

# fake_start [ARGS...]: start fake Zadig on 127.0.0.1, port chosen by the
# kernel; sets FAKE_URL and FAKE_PORT.
fake_start() {
	rm -f "$T/fake.port"
	"$ZH_FAKE" --listen 127.0.0.1 --port 0 --port-file "$T/fake.port" \
		--token "$TOKEN" --forbidden-token forbidden-token \
		--log "$T/fake.log" "$@" >/dev/null 2>&1 &
	FAKE_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/fake.port" ] && break
		sleep 0.05
	done
	FAKE_PORT=$(cat "$T/fake.port")
	FAKE_URL=http://127.0.0.1:$FAKE_PORT
}

fake_stop() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}

# fake_ctl METHOD PATH [JSON]: the fake's control plane.
fake_ctl() {
	curl -sS -X "$1" ${3:+-H 'Content-Type: application/json' --data "$3"} \
		"$FAKE_URL/__fake/$2"
}

# free_port: a loopback port nothing listens on now, for a server that
# must come back on the same port. Below the kernel's ephemeral range, so
# that no outgoing connection (of this test or another running at the same
# time) holds it as its local port when the server binds it: with ports
# taken from that range, a restarted receiver once failed to bind twice in
# a row (EADDRINUSE) until such a connection was gone.
free_port() {
	local lo p
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
		lo=32768
	[ "$lo" -gt 12000 ] 2>/dev/null || lo=12000
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "$p"
}

# a free loopback port nobody listens on
closed_port() {
	echo 1 # nothing listens on a privileged port here
}

# write_config FILE [URL] [EXTRA-YAML]: a config for the fake.
write_config() {
	local file=$1 url=${2:-$FAKE_URL}
	cat >"$file" <<YAML
zadig:
  url: $url
  token: \${ZADIG_TOKEN}
  timeout: 2s
${3:-}
YAML
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit $?
}
