#!/bin/bash
# Notes: N status lines written by zadig-hook (one notes commit per batch)
# versus a `git notes add` loop, side by side. Usage: bench/notes.sh [N]
# The git loop costs one process per note (tens of seconds per thousand on
# a busy machine), so it runs over the first BASE_N (default 1,000) commits
# and its time is scaled by N / BASE_N; set BASE_N=N for the full loop.
# Needs: a build (BUILD=build) with bench/notes_bench.
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
ROUNDS=${NOTES_ROUNDS:-3}
BASE_N=${BASE_N:-$((N < 1000 ? N : 1000))}
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
T=$(mktemp -d /tmp/zh-bench-notes.XXXXXX)
trap 'rm -rf "$T"' EXIT

git init -q --bare "$T/r.git"
for i in $(seq "$N"); do
	printf 'commit refs/heads/main\nmark :%d\ncommitter B <b@e> %d +0000\ndata 3\nc%d\n' $i $((1700000000 + i)) $((i % 10))
	[ "$i" -gt 1 ] && printf 'from :%d\n' $((i - 1))
	printf 'M 644 inline f%d\ndata 2\n%d\n\n' $((i % 100)) $((i % 10))
done | git -C "$T/r.git" fast-import --quiet
git -C "$T/r.git" rev-list main >"$T/ids"

machine
a=() b=()
for round in $(seq "$ROUNDS"); do
	git -C "$T/r.git" update-ref -d refs/notes/zadig 2>/dev/null || true
	a+=("$(ms "$BUILD/bench/notes_bench" "$T/r.git" passed <"$T/ids")")
	git -C "$T/r.git" update-ref -d refs/notes/zadig
	t0=$(date +%s%N)
	n=0
	while read -r id; do
		git -C "$T/r.git" notes --ref=zadig add -m "passed bench-workflow #$n http://zadig.example.com/t/$n rule=bench" "$id"
		n=$((n + 1))
	done < <(head -n "$BASE_N" "$T/ids")
	b+=($((($(date +%s%N) - t0) / 1000000 * N / BASE_N)))
	commits=$(git -C "$T/r.git" rev-list --count refs/notes/zadig)
	echo "round $round: zadig-hook ${a[-1]} ms, git notes add loop ${b[-1]} ms"
done
read -r am amin amax <<<"$(stats "${a[@]}")"
git -C "$T/r.git" update-ref -d refs/notes/zadig
"$BUILD/bench/notes_bench" "$T/r.git" passed <"$T/ids" >/dev/null
one=$(git -C "$T/r.git" rev-list --count refs/notes/zadig)
read -r bm bmin bmax <<<"$(stats "${b[@]}")"
echo "notes: $N lines: zadig-hook median $am ms ($amin-$amax) in $one notes commit; git notes add loop (over $BASE_N, scaled to $N) median $bm ms ($bmin-$bmax), $commits commits; speed-up $(ratio "$bm" "$am")x"
