# Helpers for the post-receive hook end-to-end tests (test_hook_*.sh).
# Source it after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_hook.sh"
# Every repository lives under $T; pollers the hooks start are found by
# their command line ("zadig-hook poll --git-dir $T/...") and killed by
# pid at exit, as is the git daemon.

DAEMON_PID=
DAEMON_PORT=

hook_cleanup() {
	local pid
	for pid in $(pollers); do kill -9 "$pid" 2>/dev/null; done
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	cleanup
}
trap hook_cleanup EXIT

# pollers [GIT-DIR]: pids of the detached pollers of our repositories
# (of one repository when GIT-DIR is given).
pollers() {
	pgrep -f "zadig-hook poll --git-dir ${1:-$T/}" || true
}

# poller_of GIT-DIR [SECONDS]: the pid(s) of GIT-DIR's poller, waiting for
# it to appear (the hook starts it in the background; slow under ASan).
poller_of() {
	local i p
	for i in $(seq $((${2:-5} * 10))); do
		p=$(pollers "$1")
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 0
}

# wait_pollers [SECONDS [GIT-DIR]]: until no poller of ours runs; 1 on
# timeout.
wait_pollers() {
	local i
	for i in $(seq $((${1:-20} * 10))); do
		[ -z "$(pollers "${2:-}")" ] && return 0
		sleep 0.1
	done
	return 1
}

# now_ms: wall clock in milliseconds.
now_ms() {
	date +%s%3N
}

# hook_config FILE URL [MODE [DEADLINE [EXTRA-YAML]]]: the config the
# hook tests use; fast polling so that tasks settle in about a second.
# Rules: dev (main, feature/*), rel (tags v*), slow (slow/*, a workflow
# the fake never finishes), bad (bad/*, a workflow the fake rejects),
# custom (custom/*, a custom workflow).
hook_config() {
	cat >"$1" <<YAML
zadig:
  url: $2
  token: \${ZADIG_TOKEN}
  timeout: 2s
hook:
  mode: ${3:-sync}
  deadline: ${4:-5s}
poll:
  interval: 200ms
  max_interval: 1s
  give_up_after: 5m
${5:-}
rules:
  - name: dev
    branches: [main, "feature/*"]
    workflow:
      name: wf-dev
      env: dev
      targets: [{ name: vote, repos: ["\${REPO}"] }]
  - name: rel
    tags: ["v*"]
    events: [tag]
    workflow:
      name: wf-release
      env: prod
      targets: [{ name: vote, repos: ["\${REPO}"] }]
  - name: slow
    branches: ["slow/*"]
    workflow:
      name: wf-slow-build
      env: dev
      targets: [{ name: vote, repos: ["\${REPO}"] }]
  - name: bad
    branches: ["bad/*"]
    workflow:
      name: missing-wf
      env: dev
      targets: [{ name: vote, repos: ["\${REPO}"] }]
  - name: custom
    branches: ["custom/*"]
    custom_workflow:
      project: helm
      name: build-custom
      inputs:
        - job_name: build
          job_type: zadig-build
          parameters: { branch: "\${BRANCH}" }
YAML
}

# new_repo NAME CONFIG: a bare repository $T/NAME.git with the hook
# installed and a clone $T/NAME (origin = file://$T/NAME.git) holding one
# commit that is not pushed yet.
new_repo() {
	local name=$1 cfg=$2
	git init -q --bare "$T/$name.git"
	zadig-hook install "$T/$name.git" --config "$cfg" >/dev/null ||
		not_ok "install into $name.git"
	git clone -q "file://$T/$name.git" "$T/$name" 2>/dev/null
	git -C "$T/$name" commit -q --allow-empty -m "first commit of $name"
}

# commit DIR MESSAGE: one more commit (a changed file) in clone DIR.
commit() {
	echo "$2 $RANDOM" >>"$1/file.txt"
	git -C "$1" add file.txt
	git -C "$1" commit -q -m "$2"
}

# run CMD... (lib.sh's, kept as lib_run) also fails when a sanitizer
# spoke: the hook's stderr reaches the pusher as "remote: ...".
eval "lib_run() $(declare -f run | tail -n +2)"
run() {
	lib_run "$@"
	if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" \
		"$T/out" "$T/err"; then
		not_ok "sanitizer report from: $*"
	fi
}
hrun() {
	run "$@"
}

# timed_push CLONE ARGS...: hrun git -C CLONE push ARGS; TOOK = its ms.
timed_push() {
	local start dir=$1
	shift
	start=$(now_ms)
	hrun git -C "$dir" push "$@"
	TOOK=$(($(now_ms) - start))
}

# baseline_push CLONE: push a new branch no rule matches (the hook runs,
# sends nothing) and set BASE to its ms: what a push costs on this machine
# now, so that time limits hold under load (sanitizers, parallel tests).
baseline_push() {
	local b="nomatch-$RANDOM"
	git -C "$1" branch -q "$b"
	timed_push "$1" origin "$b"
	BASE=$TOOK
	git -C "$1" push -q origin ":$b" 2>/dev/null
}

# note GIT-DIR REV: the zadig note of REV ("" when none).
note() {
	git --git-dir="$1" notes --ref=zadig show "$2" 2>/dev/null
}

# wait_note GIT-DIR REV PATTERN [SECONDS]: until the note matches the
# grep -E PATTERN; 1 on timeout.
wait_note() {
	local i
	for i in $(seq $((${4:-15} * 10))); do
		note "$1" "$2" | grep -qE -- "$3" && return 0
		sleep 0.1
	done
	return 1
}

# wait_in_file FILE PATTERN [SECONDS]: until FILE holds the grep -E
# PATTERN; 1 on timeout (10 s).
wait_in_file() {
	local i
	for i in $(seq $((${3:-10} * 10))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_for_log GIT-DIR PATTERN [SECONDS]: until the poller.log of GIT-DIR's
# store holds the grep -E PATTERN; 1 on timeout.
wait_for_log() {
	wait_in_file "$1/zadig-hook/poller.log" "$2" "${3:-10}"
}

# wait_creates WORKFLOW N: until the fake got N creates of WORKFLOW; 1 on
# timeout (10 s).
wait_creates() {
	local i
	for i in $(seq 100); do
		[ "$(creates "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# requests: the fake's request log (pretty-printed JSON) into $T/req.json.
requests() {
	fake_ctl GET requests >"$T/req.json"
}

# creates WORKFLOW [STATUS]: how many create requests (product create or
# custom trigger, both POST) for WORKFLOW the fake got (only those it answered with STATUS if given).
creates() {
	requests
	awk -v wf="$1" -v want="${2:-}" '
		/"method": / { m = $0 }
		/"path": / { p = $0 }
		/"body": / { b = $0 }
		/"status": / {
			s = $0; gsub(/[^0-9]/, "", s)
			if (m ~ /"POST"/ &&
			    (p ~ /workflowTask\/create"/ ||
			     p ~ /workflows\/custom\/task"/) &&
			    index(b, "\\\"" wf "\\\"") &&
			    (want == "" || s == want))
				n++
			m = ""; p = ""; b = ""
		}
		END { print n + 0 }' "$T/req.json"
}

# daemon_start BASE-PATH: git daemon on 127.0.0.1 serving (and accepting
# pushes to) every repository under BASE-PATH; sets DAEMON_PORT.
daemon_start() {
	local i try
	for try in 1 2 3 4 5; do
		DAEMON_PORT=$(free_port)
		git daemon --export-all --enable=receive-pack --reuseaddr \
			--base-path="$1" --listen=127.0.0.1 \
			--port="$DAEMON_PORT" "$1" >"$T/daemon.log" 2>&1 &
		DAEMON_PID=$!
		for i in $(seq 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$DAEMON_PORT") \
				2>/dev/null; then
				return 0
			fi
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
	done
	return 1
}

# absent PATTERN FILE...: no FILE holds the grep -E PATTERN.
absent() {
	local pat=$1
	shift
	! grep -lE -- "$pat" "$@"
}

# check_logs: every poller.log under $T is free of sanitizer reports and
# of the token; the state stores do not hold the token either.
check_logs() {
	local logs=()
	mapfile -t logs < <(find "$T" -name poller.log)
	check "pollers logged something (the checks below see real logs)" \
		test "${#logs[@]}" -gt 0
	check "no sanitizer report in any poller.log" \
		absent 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${logs[@]}"
	check "the token is in no poller.log" absent "$TOKEN" "${logs[@]}"
	check "the token is in no state store file" \
		absent "$TOKEN" $(find "$T" -path '*/zadig-hook/*' -type f)
}

# hook_finish: no poller left behind (they exit once nothing is pending),
# logs clean, then lib.sh's finish.
hook_finish() {
	check "every poller exits by itself once nothing is pending" \
		wait_pollers 20
	check_logs
	finish
}
