#!/bin/bash
# TLS to Zadig is verified by default (issue 6, design.md §9): a server
# with a self-signed certificate is refused unless zadig.ca_file names
# it; another CA or a certificate for another host name is refused too;
# insecure_skip_tls_verify turns the check off, with a warning. Nothing
# reaches the server over a connection that failed verification.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/../reliability/lib_rel.sh"

command -v openssl >/dev/null || { echo "# SKIP: no openssl"; exit 77; }
cd "$T" || exit 1
# cert NAME SUBJECT-ALT-NAME: a self-signed certificate NAME.pem and key
cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
		-addext "subjectAltName=$2" -keyout "$T/$1.key" \
		-out "$T/$1.pem" 2>/dev/null || not_ok "openssl req for $1"
}
cert zadig IP:127.0.0.1
cert other IP:127.0.0.1
cert wrongname DNS:zadig.example.com

# tls_start CERT: fake Zadig over HTTPS; sets FAKE_PORT, FAKE_URL (https)
# and CA (the CA file that verifies it).
tls_start() {
	local rc
	rm -f "$T/fake.port"
	"$ZH_FAKE" --listen 127.0.0.1 --port 0 --port-file "$T/fake.port" \
		--token "$TOKEN" --log "$T/fake.log" \
		--tls-cert "$T/$1.pem" --tls-key "$T/$1.key" >/dev/null 2>"$T/fake.err" &
	FAKE_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/fake.port" ] && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$T/fake.port" ]; then
		rc=0
		wait "$FAKE_PID" || rc=$?
		FAKE_PID=
		if [ "$rc" = 77 ]; then
			echo "# SKIP: $(cat "$T/fake.err")"
			exit 77
		fi
		not_ok "fake zadig over TLS did not start ($rc): $(cat "$T/fake.err")"
		finish
	fi
	FAKE_PORT=$(cat "$T/fake.port")
	FAKE_URL=https://127.0.0.1:$FAKE_PORT
	CA=$T/$1.pem
}
# ctl METHOD PATH [JSON]: the control plane, verified with the right CA.
ctl() {
	local base=$FAKE_URL
	[ -n "${CTL_NAME:-}" ] && base=https://$CTL_NAME:$FAKE_PORT
	curl -sS --cacert "$CA" ${CTL_NAME:+--resolve "$CTL_NAME:$FAKE_PORT:127.0.0.1"} \
		-X "$1" \
		${3:+-H 'Content-Type: application/json' --data "$3"} \
		"$base/__fake/$2"
}
in_count() {
	ctl GET requests | grep -c '"direction": "in"'
}
# cfg FILE [EXTRA-ZADIG-YAML]: zadig.timeout is $TIMEOUT (3s)
cfg() {
	cat >"$1" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
  timeout: ${TIMEOUT:-3s}
${2:-}
hook:
  poll: false
rules:
  - name: dev
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      targets: [{ name: vote, repos: [app] }]
YAML
}

tls_start zadig
check "the fake speaks TLS with its CA" test "$(ctl GET config | grep -c generation)" = 1
ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":1,"status":"passed"}' >/dev/null
n0=$(in_count)

cfg "$T/default.yaml"
run git zadig --config "$T/default.yaml" show wf-dev 1
expect "no ca_file: the self-signed server is refused" 1 "" \
	"^git-zadig: error: cannot verify the TLS certificate of zadig at .*: set zadig.ca_file"
check "no ca_file: no request got through" test "$(in_count)" = "$n0"

cfg "$T/other.yaml" "  ca_file: $T/other.pem"
run git zadig --config "$T/other.yaml" show wf-dev 1
expect "ca_file of another CA: refused" 1 "" \
	"^git-zadig: error: cannot verify the TLS certificate .*zadig.ca_file '$T/other.pem' does not hold"
check "another CA: no request got through" test "$(in_count)" = "$n0"

cfg "$T/ca.yaml" "  ca_file: $T/zadig.pem"
run git zadig --config "$T/ca.yaml" show wf-dev 1
expect "ca_file naming its CA: accepted" 0 "passed"
check "its CA: the request got through" test "$(in_count)" = $((n0 + 1))

cfg "$T/insecure.yaml" "  insecure_skip_tls_verify: true"
run git zadig --config "$T/insecure.yaml" show wf-dev 1
expect "insecure_skip_tls_verify: accepted" 0 "passed"
check "insecure_skip_tls_verify: warned about" grep -qiE "warning: .*insecure_skip_tls_verify" "$T/err"

# the hook: queued with the reason, nothing created, the push succeeds;
# a long zadig.timeout shows that the retry does not wait for it
TIMEOUT=60s
cfg "$T/hook.yaml"
new_repo app "$T/hook.yaml"
n1=$(in_count)
hrun git -C "$T/app" push origin main
expect "hook, no ca_file: the push succeeds, queued with the reason" 0 "" \
	"^remote: zadig: dev: queued, .*certificate.*zadig.ca_file.*; will retry"
check "hook, no ca_file: nothing reached zadig" test "$(in_count)" = "$n1"
cfg "$T/hook.yaml" "  ca_file: $T/zadig.pem"
# a failed handshake sent nothing: the next sync sends the trigger at once
# instead of waiting one zadig.timeout for an earlier try to show up
start=$(date +%s)
run_in "$T/app.git" git zadig sync
expect "hook, ca_file added: git zadig sync succeeds" 0
check "hook, ca_file added: the first sync delivered it over TLS" \
	test "$(ctl GET tasks | grep -c '"workflow": "wf-dev"')" = 2
check "hook, ca_file added: well under zadig.timeout" \
	test $(($(date +%s) - start)) -lt 30

# a ca_file that cannot be read (the audit: config check said "ok", then
# every request failed): config check names it at its place, exit 2; the
# programs load, warn and keep the push queued until it can be read
cfg "$T/noca.yaml" "  ca_file: noca.pem"
WHY="$T/noca.yaml:5:12: cannot read zadig.ca_file 'noca.pem': No such file or directory"
run git zadig config check "$T/noca.yaml"
expect "missing ca_file: config check reports it" 2 "^$WHY$" \
	"is not valid \(1 error\)"
run git zadig --config "$T/noca.yaml" show wf-dev 1
expect "missing ca_file: a verb warns at load, then fails" 1 "" \
	"^git-zadig: warning: $WHY$"
check "missing ca_file: ... with the CA's error" \
	grep -q "^git-zadig: error: cannot load the CA certificates of zadig.ca_file '$T/noca.pem'" "$T/err"
new_repo noca "$T/noca.yaml"
n1=$(in_count)
hrun git -C "$T/noca" push origin main
expect "hook, missing ca_file: the push succeeds, queued with the reason" 0 "" \
	"^remote: zadig: dev: queued, cannot load the CA certificates of zadig.ca_file '$T/noca.pem'.*; will retry"
check "hook, missing ca_file: nothing reached zadig" test "$(in_count)" = "$n1"
cp "$T/zadig.pem" "$T/noca.pem"
run git zadig config check "$T/noca.yaml"
expect "ca_file there now: config check" 0 "^ok$"
run_in "$T/noca.git" git zadig sync
expect "ca_file there now: git zadig sync delivers the push" 0 "^delivered 1 trigger"
fake_stop
TIMEOUT=3s

# a certificate for another host name, even from the trusted CA
tls_start wrongname
CTL_NAME=zadig.example.com
check "the control plane answers for zadig.example.com" \
	test "$(ctl GET config | grep -c generation)" = 1
cfg "$T/name.yaml" "  ca_file: $T/wrongname.pem"
run git zadig --config "$T/name.yaml" show wf-dev 1
expect "certificate for another host name: refused" 1 "" \
	"^git-zadig: error: .*(certificate|SSL|TLS|host)"
check "another host name: no request got through" test "$(in_count)" = 0
fake_stop
finish
