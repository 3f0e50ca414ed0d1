#!/bin/bash
# The hook on a new branch of 100,000 commits over a 20,000-file tree with
# a small diff, versus `git diff --name-only` of the same range and
# `git rev-list --count`, and the same push into a store with a long
# history (HISTORY earlier triggers, default 100,000; 0: skipped).
# Usage: bench/hook_bigbranch.sh [COMMITS] [FILES]
. "$(dirname "$0")/lib.sh"
C=${1:-100000}
F=${2:-20000}
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
export PATH=$BUILD:$PATH
T=$(mktemp -d /tmp/zh-bench-big.XXXXXX)
trap 'rm -rf "$T"' EXIT
export GIT_CONFIG_GLOBAL=$T/gitconfig

git init -q --bare "$T/r.git"
{
	# main: one commit with F files in F/50 directories
	printf 'commit refs/heads/main\nmark :1\ncommitter B <b@e> 1700000000 +0000\ndata 4\nbase\n'
	for f in $(seq "$F"); do printf 'M 644 inline d%d/f%d\ndata 2\n%d\n' $((f % (F / 50))) "$f" $((f % 10)); done
	printf '\n'
	# big: C commits on top, each touching one of 20 files
	for i in $(seq 2 $((C + 1))); do
		printf 'commit refs/heads/big\nmark :%d\ncommitter B <b@e> %d +0000\ndata 3\nc%d\nfrom :%d\n' "$i" $((1700000000 + i)) $((i % 10)) $((i - 1))
		printf 'M 644 inline d%d/f%d\ndata %d\n%d\n\n' $((i % 20)) $((i % 20 + 20)) $((${#i} + 1)) "$i"
	done
} | git -C "$T/r.git" fast-import --quiet
git -C "$T/r.git" symbolic-ref HEAD refs/heads/main
cat >"$T/config.yaml" <<YAML
zadig: { url: "http://127.0.0.1:1", token: t }
hook: { mode: async, poll: false }
rules:
  - name: dev
    branches: ["*"]
    paths: ["d1/**"]
    workflow: { name: wf, env: dev, targets: [{ name: s, repos: [r] }] }
YAML
git -C "$T/r.git" config zadig.config "$T/config.yaml"
base=$(git -C "$T/r.git" rev-parse main)
tip=$(git -C "$T/r.git" rev-parse big)
zero=0000000000000000000000000000000000000000

# Each run is the first push of the branch (no notes, no trigger), in a
# repository whose state store exists (created by an earlier push: here a
# tag no rule matches) -- the usual case; "first push" runs also create the
# store, as the very first push into a repository does. Resets are not
# timed. The hook is started as git starts it and as git diff is: one
# fork and exec, in the repository, its input from a file (a pipeline
# into a subshell would time a bash fork too).
echo "$zero $tip refs/heads/big" >"$T/in.big"
echo "$zero $tip refs/tags/no-rule" >"$T/in.tag"
cd "$T/r.git"
reset() {
	git update-ref -d refs/notes/zadig 2>/dev/null || true
	rm -rf zadig-hook
}
with_store() {
	reset
	GIT_DIR=. zadig-hook post-receive <"$T/in.tag" >/dev/null 2>&1
}
hook() {
	GIT_DIR=. zadig-hook post-receive <"$T/in.big"
}
machine
echo "commits on the branch: $(git -C "$T/r.git" rev-list --count main..big), files: $F"
a=() b=() c=() d=() p=()
for round in $(seq "$BENCH_ROUNDS"); do
	with_store
	a+=("$(ms hook)")
	b+=("$(ms git -C "$T/r.git" diff --name-only "$base" "$tip")")
	# the ratio of this round: the two runs a moment apart, so that a
	# busy spell of the machine counts on both sides
	p+=("$(ratio "${a[-1]}" "${b[-1]}")")
	c+=("$(ms git -C "$T/r.git" rev-list --count "$base..$tip")")
	reset
	d+=("$(ms hook)")
done
read -r am amin amax <<<"$(stats "${a[@]}")"
read -r bm bmin bmax <<<"$(stats "${b[@]}")"
read -r cm cmin cmax <<<"$(stats "${c[@]}")"
read -r dm dmin dmax <<<"$(stats "${d[@]}")"
read -r pm pmin pmax <<<"$(stats "${p[@]}")"
echo "new branch of $C commits: hook median $am ms ($amin-$amax); git diff --name-only $bm ms ($bmin-$bmax), ratio $(ratio "$am" "$bm")x (per round: median ${pm}x, $pmin-$pmax); git rev-list --count $cm ms ($cmin-$cmax), ratio $(ratio "$am" "$cm")x"
echo "first push into the repository (creates the store): hook median $dm ms ($dmin-$dmax), ratio $(ratio "$dm" "$bm")x git diff"

# The same push into a store with a long history: HISTORY triggers of
# earlier pushes (default 100,000: a busy repository's year or two), all
# noted, each with a 600-byte request body. Triggers are never pruned
# (they are the dedup record), so a hook run must not slow down with them.
HISTORY=${HISTORY:-100000}
if [ "$HISTORY" -gt 0 ] && command -v sqlite3 >/dev/null; then
	with_store
	sqlite3 zadig-hook/state.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION
		ALL SELECT i + 1 FROM n WHERE i < $HISTORY) INSERT INTO triggers
		(repo, ref, commit_id, rule, trigger_key, workflow, method, path,
		body, state, noted_state, created_ms, updated_ms) SELECT 'r',
		'refs/heads/b' || (i % 50), printf('%040x', i), 'dev', 'h' || i,
		'wf', 'POST', '/openapi/workflows/product/task',
		printf('%.600c', 'x'), 'created', 'created', 0, 0 FROM n"
	# as after any write of ours: a few frames in the WAL. sqlite3's close
	# checkpointed the fill and left the WAL empty, and the hook's write
	# into an empty WAL made three fdatasyncs instead of one (strace), ~1
	# ms more, as every store's first write after a checkpoint does,
	# whatever its size: not what this case measures
	sqlite3 zadig-hook/state.db ".dbconfig no_ckpt_on_close on" \
		"INSERT INTO meta VALUES ('bench', 'x')" \
		"DELETE FROM meta WHERE key = 'bench'" >/dev/null
	[ -s zadig-hook/state.db-wal ] || { echo "hook_bigbranch.sh: no WAL frames" >&2; exit 2; }
	cp -a zadig-hook "$T/history"
	h=()
	for round in $(seq "$BENCH_ROUNDS"); do
		reset
		cp -a "$T/history" zadig-hook
		h+=("$(ms hook)")
	done
	read -r hm hmin hmax <<<"$(stats "${h[@]}")"
	echo "a store of $HISTORY earlier triggers ($(du -m zadig-hook/state.db | cut -f1) MB): hook median $hm ms ($hmin-$hmax), $(ratio "$hm" "$am")x the push into a store without them"
fi
