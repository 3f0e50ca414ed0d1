#!/bin/bash
# `git zadig status` over 1,000 commits versus `git log --notes=zadig -1000`.
# Usage: bench/status.sh [N]   (BUILD=build; git-zadig from BUILD)
. "$(dirname "$0")/lib.sh"
N=${1:-1000}
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
export PATH=$BUILD:$PATH
T=$(mktemp -d /tmp/zh-bench-status.XXXXXX)
trap 'rm -rf "$T"' EXIT

git init -q --bare "$T/r.git"
for i in $(seq "$N"); do
	printf 'commit refs/heads/main\nmark :%d\ncommitter B <b@e> %d +0000\ndata 3\nc%d\n' $i $((1700000000 + i)) $((i % 10))
	[ "$i" -gt 1 ] && printf 'from :%d\n' $((i - 1))
	printf 'M 644 inline f%d\ndata 2\n%d\n\n' $((i % 100)) $((i % 10))
done | git -C "$T/r.git" fast-import --quiet
git -C "$T/r.git" symbolic-ref HEAD refs/heads/main
git -C "$T/r.git" rev-list main >"$T/ids"
"$BUILD/bench/notes_bench" "$T/r.git" passed <"$T/ids" >/dev/null

machine
cd "$T/r.git"
mapfile -t ids <"$T/ids"
a=() b=()
for round in $(seq "$BENCH_ROUNDS"); do
	a+=("$(ms git zadig status "${ids[@]}")")
	b+=("$(ms git log --notes=zadig -"$N")")
done
read -r am amin amax <<<"$(stats "${a[@]}")"
read -r bm bmin bmax <<<"$(stats "${b[@]}")"
echo "status of $N commits: git zadig status median $am ms ($amin-$amax), git log --notes=zadig median $bm ms ($bmin-$bmax), ratio $(ratio "$am" "$bm")x"
