#!/bin/bash
# Wall time of `git push` of one commit: a bare repository with the hook
# (async mode, poller on) versus the same push with no hook, alternating.
# With REFS=N, each push also creates N branches (many/<round>-<i>) at
# that commit, all of which a rule names: the hook records the triggers
# of every ref in one transaction (MODE=sync, or POLL=false, takes that
# path at push time; async with the poller spools them instead).
# Usage: bench/hook_push.sh   (BUILD=build MODE=async|sync POLL=true|false
#                              REFS=0 BENCH_SETTLE=0.5)
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
ROUNDS=${BENCH_ROUNDS:-15}
SETTLE=${BENCH_SETTLE:-0.5} # seconds before each timed push
export PATH=$BUILD:$PATH
T=$(mktemp -d /tmp/zh-bench-push.XXXXXX)
export GIT_CONFIG_GLOBAL=$T/gitconfig
git config --global user.name B; git config --global user.email b@e
git config --global init.defaultBranch main
"$BUILD/tests/fake-zadig/fake-zadig" --port 0 --port-file "$T/port" --token t >/dev/null 2>&1 &
fake=$!
# the pollers the hook started, by pid (found by their command line)
trap 'for p in $(pgrep -f "zadig-hook pol[l] --git-dir $T"); do kill "$p"; done; kill $fake; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
cat >"$T/config.yaml" <<YAML
zadig: { url: "http://127.0.0.1:$(cat "$T/port")", token: t }
hook: { mode: ${MODE:-async}, poll: ${POLL:-true} }
rules:
  - name: dev
    branches: [main, "many/*"]
    workflow: { name: wf, env: dev, targets: [{ name: s, repos: [r] }] }
YAML
for side in hook plain; do
	git init -q --bare "$T/$side.git"
	git clone -q "$T/$side.git" "$T/$side" 2>/dev/null
	(cd "$T/$side" && echo 0 >f && git add f && git commit -qm 0 && git push -q origin main 2>/dev/null)
done
zadig-hook install "$T/hook.git" --config "$T/config.yaml" >/dev/null

push() { cd "$T/$1" && echo "$2" >f && git commit -qam "$2" && git push -q origin main 2>/dev/null; }
REFS=${REFS:-0}
machine
a=() b=()
for i in $(seq "$ROUNDS"); do
	for side in hook plain; do
		(cd "$T/$side" && echo "$i" >f && git commit -qam "$i" &&
			for r in $(seq "$REFS"); do git branch -f "many/$i-$r"; done)
	done
	# each push starts on a quiet machine: the background work of the
	# previous hook push (the poller reads, sends, writes notes) would
	# otherwise land on whichever push comes next
	sleep "$SETTLE"
	a+=("$(ms git -C "$T/hook" push -q origin main "refs/heads/many/$i-*:refs/heads/many/$i-*")")
	sleep "$SETTLE"
	b+=("$(ms git -C "$T/plain" push -q origin main "refs/heads/many/$i-*:refs/heads/many/$i-*")")
done
read -r am amin amax <<<"$(stats "${a[@]}")"
read -r bm bmin bmax <<<"$(stats "${b[@]}")"
echo "push of 1 commit$([ "$REFS" -gt 0 ] && echo " and $REFS new branches") (${MODE:-async}$([ "${POLL:-true}" = false ] && echo ", no poller")): with hook median $am ms ($amin-$amax), without median $bm ms ($bmin-$bmax), overhead $(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.2f", a - b }') ms"
