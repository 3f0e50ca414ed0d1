# shellcheck shell=bash
# Shared helpers of the reliability and security suites; source it after
# tests/e2e/lib.sh (and lib_hook.sh or lib_webhook.sh when needed):
#   E2E=$(dirname "$0")/../e2e
#   . "$E2E/lib.sh"; . "$E2E/lib_hook.sh"; . "$(dirname "$0")/../reliability/lib_rel.sh"
# It replaces their EXIT trap with one that also stops what the script
# started in the background (by pid), the receiver, the pollers of $T's
# repositories and unmounts what it mounted.

# ZH_RELIABILITY_FULL=1: the long form (the issue's numbers).
FULL=${ZH_RELIABILITY_FULL:-0}

# scale SHORT LONG: the number for the form being run.
scale() {
	if [ "$FULL" = 1 ]; then echo "$2"; else echo "$1"; fi
}

BG_PIDS=()
MOUNTS=()

rel_cleanup() {
	local p m
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if declare -f pollers >/dev/null; then
		for p in $(pollers); do kill -9 "$p" 2>/dev/null; done
	fi
	if [ -n "${WH_PID:-}" ]; then
		kill -9 "$WH_PID" 2>/dev/null
		wait "$WH_PID" 2>/dev/null
	fi
	if [ -n "${DAEMON_PID:-}" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
	cleanup
}
trap rel_cleanup EXIT

# task_pairs: "workflow commit" of every task fake Zadig holds, sorted.
task_pairs() {
	curl -s --max-time 10 "$FAKE_URL/__fake/tasks" | awk '
		/"workflow": / { w = $2; gsub(/[",]/, "", w) }
		/"commit": / { c = $2; gsub(/[",]/, "", c); if (c != "null") print w, c }' |
		sort
}

# tasks_cover FILE: fake Zadig holds a task for every "workflow commit"
# line of FILE (it may hold more: see no_dup_tasks).
tasks_cover() {
	task_pairs >"$T/pairs"
	[ -z "$(comm -23 <(sort -u "$1") <(sort -u "$T/pairs"))" ]
}

# no_dup_tasks: no (workflow, commit) has two tasks.
no_dup_tasks() {
	task_pairs >"$T/pairs"
	[ -z "$(uniq -d "$T/pairs")" ]
}

# sanitizer_clean FILE...: no sanitizer report in the files.
sanitizer_clean() {
	! grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" \
		2>/dev/null
}

# percentile P FILE: the P-th percentile of the numbers in FILE.
percentile() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 }
		END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] + 0 }'
}

# wait_until SECONDS COMMAND...: poll every 0.1 s until it succeeds
# (lib_webhook.sh has the same).
if ! declare -f wait_until >/dev/null; then
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
fi

# wait_secs SECONDS COMMAND...: like wait_until, bounded by the clock
# rather than by tries (for commands that take a while themselves).
wait_secs() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
