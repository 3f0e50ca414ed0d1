#!/bin/bash
# The notes the hook and its poller write: what a clone fetches and reads,
# racing pushes, a poller killed mid-way, a lock a killed writer left, and
# no token anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

# (--repo-root: fake Zadig knows the commit each task built, as Zadig
# does, so its commitId lookup has the times a note's duration needs)
fake_start --repo-root "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
Z="remote: zadig:"
new_repo app "$CFG"
W=$T/app
G=$T/app.git

# ---- a push, its note, and a clone that reads it ----
hrun git -C "$W" push origin main
expect "push" 0 "" "^$Z dev: wf-dev #1 created"
c=$(git -C "$W" rev-parse HEAD)
check "the note ends passed" \
	wait_note "$G" "$c" "^passed wf-dev #1 http://127.0.0.1:$FAKE_PORT/v1/projects/detail/default/pipelines/multi/wf-dev/1 duration=[0-9]+s tests=24/24 rule=dev$"
check "the notes ref is refs/notes/zadig" \
	test -n "$(git --git-dir="$G" rev-parse -q --verify refs/notes/zadig)"
check "the note is one line" test "$(note "$G" "$c" | wc -l)" = 1

git clone -q "file://$G" "$T/clone"
cd "$T/clone"
run git zadig status
expect "status in a clone without the notes" 0 "no zadig status \(no refs/notes/zadig here; in a clone, fetch it: git fetch origin \+refs/notes/zadig:refs/notes/zadig\)"
git fetch -q origin "+refs/notes/zadig:refs/notes/zadig"
# the notes are here: a commit without a note is said to have none, no hint
git commit -q --allow-empty -m "not pushed"
run git zadig status
expect "status of a commit without a note, notes fetched: no hint" 0 "^  no zadig status$"
# the hint names the notes ref the config names
printf 'notes:\n  ref: refs/notes/other\n' >"$T/other.yaml"
run git zadig status --config "$T/other.yaml"
expect "status: the hint names notes.ref" 0 "no zadig status \(no refs/notes/other here; in a clone, fetch it: git fetch origin \+refs/notes/other:refs/notes/other\)"
git reset -q --hard HEAD~1
run git log --notes=zadig -1
expect "git log --notes=zadig shows the line" 0 "^Notes \(zadig\):$"
check "git log --notes=zadig: the task line" grep -qE "^    passed wf-dev #1 http://.* rule=dev$" "$T/out"
git config notes.displayRef refs/notes/zadig
run git log -1
expect "notes.displayRef: plain git log shows it" 0 "^    passed wf-dev #1 "
run git notes --ref=zadig show "$c"
expect "stock git notes reads it" 0 "^passed wf-dev #1 http://127.0.0.1:$FAKE_PORT/"
run git zadig status
expect "git zadig status in the clone" 0 "^${c:0:8} first commit of app$"
check "git zadig status: the task line" grep -qE "^  passed wf-dev #1 http://127.0.0.1:$FAKE_PORT/.* rule=dev$" "$T/out"
run git zadig status --json
expect "git zadig status --json" 0 "\"commit\": \"$c\""
check "status --json: the task" grep -qE '"status": "passed", "workflow": "wf-dev", "task_id": 1, "url": "http://' "$T/out"
check "status --json: the fields" grep -qE '"tests": "24/24", "rule": "dev"' "$T/out"
if command -v python3 >/dev/null; then
	check "status --json is valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
else
	check "status --json is a list" grep -q '^\[' "$T/out"
fi
run git zadig status HEAD nosuchrev
expect "status of an unknown revision" 1 "" "nosuchrev"

# a config that does not load in this shell (its token's variable unset):
# status still reads the notes ref it names
git notes --ref=ci add -m "passed wf-ci #5 - rule=ci" HEAD
printf 'zadig:\n  url: http://127.0.0.1:1\n  token: ${ZH_TEST_UNSET_VAR}\nnotes:\n  ref: refs/notes/ci\n' >"$T/ci.yaml"
run git zadig status --config "$T/ci.yaml"
expect "status reads notes.ref of a config that does not load here" 0 "^  passed wf-ci #5 - rule=ci$"
printf 'notes: {ref: [\n' >"$T/broken.yaml"
run git zadig status --config "$T/broken.yaml"
expect "status with a broken config: says so, reads the default ref" 0 \
	"^  passed wf-dev #1 " "^git-zadig: warning: .*broken.yaml.*; reading refs/notes/zadig$"
# a notes.ref that is not a notes ref is not read either (it was: a branch)
printf 'notes:\n  ref: refs/heads/main\n' >"$T/branch.yaml"
run git zadig status --config "$T/branch.yaml"
expect "status with notes.ref naming a branch: says so, reads the default ref" 0 \
	"^  passed wf-dev #1 " "^git-zadig: warning: .*branch.yaml:2:8: invalid notes.ref 'refs/heads/main': it must be under refs/notes/, like refs/notes/zadig; reading refs/notes/zadig$"
run git zadig config check "$T/branch.yaml"
expect "config check refuses notes.ref naming a branch" 2 "branch.yaml:2:8: invalid notes.ref 'refs/heads/main'"

# a note with bytes that are not UTF-8 and a field named like a key of
# the line's own: status --json stays valid JSON, one key each
printf 'passed wf-j #7 - status=x who=caf\351\n' >"$T/j.note"
git notes --ref=j add -F "$T/j.note" HEAD
printf 'notes:\n  ref: refs/notes/j\n' >"$T/j.yaml"
run git zadig status --json --config "$T/j.yaml"
expect "status --json of an odd note" 0 '"status": "passed", "workflow": "wf-j", "task_id": 7, "url": null, "who": "caf\\ufffd"'
if command -v python3 >/dev/null; then
	check "status --json of an odd note is valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
fi

# ---- status --live in the clone: the tasks its notes name are asked ----
# (the clone's own store has never heard of them)
run git zadig status --live --config "$CFG"
expect "status --live in a clone that fetched the notes" 0 \
	"^  passed wf-dev #1 http://127.0.0.1:$FAKE_PORT/.* duration=[0-9]+s tests=24/24 rule=dev$"
requests
check "status --live asked zadig for the task" \
	grep -q "\"path\": \"/api/directory/workflowTask/id/1/pipelines/wf-dev\"" "$T/req.json"
check "status --live: the note is one line still" test "$(note .git "$c" | wc -l)" = 1
sed "s|^  url: .*|  url: http://127.0.0.1:$(closed_port)|" "$CFG" >"$T/down.yaml"
run git zadig status --live --config "$T/down.yaml"
expect "status --live, zadig down: what the note says, and exit 1" 1 \
	"^  passed wf-dev #1 .* tests=24/24 rule=dev$" \
	"^git-zadig: error: [0-9]+ requests? for status unanswered"
check "status --live, zadig down: says which task" \
	grep -qE "^git-zadig: cannot poll wf-dev #1: cannot reach zadig" "$T/err"
check "status --live, zadig down: the note is kept" \
	bash -c "git notes --ref=zadig show $c | grep -qE '^passed wf-dev #1 .*tests=24/24 rule=dev$'"
# a note that cannot be written (a writer holds its lock): every commit is
# still printed, the JSON stays whole, and the exit says it failed
fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":1,"status":"running"}' >/dev/null
touch .git/refs/notes/zadig.lock
run git zadig status --live --json --config "$CFG" HEAD HEAD
expect "status --live --json, notes locked: exit 1, says why" 1 \
	'"status": "passed", "workflow": "wf-dev", "task_id": 1' "locked"
check "status --live --json, notes locked: both commits" \
	test "$(grep -c '"commit": ' "$T/out")" = 2
if command -v python3 >/dev/null; then
	check "status --live --json, notes locked: valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
fi
rm -f .git/refs/notes/zadig.lock
fake_ctl POST tasks '{"kind":"product","workflow":"wf-dev","task_id":1,"status":"passed"}' >/dev/null
# the rule of a task the clone learns from a note names a project: the
# task is asked for with it (Zadig needs it for users who are not admins)
sed 's|^      name: wf-dev$|&\n      project: voting|' "$CFG" >"$T/project.yaml"
rm -rf .git/zadig-hook
run git zadig status --live --config "$T/project.yaml"
expect "status --live, the rule names a project" 0 "^  passed wf-dev #1 "
requests
# (no rule of the config before names a project)
check "status --live asked with the rule's project" \
	grep -q '"query": "projectName=voting"' "$T/req.json"
check "status --live: the commitId lookup names the project too" \
	grep -qE '"query": "commitId=[0-9a-f]{40}&projectName=voting"' "$T/req.json"
cd "$T"

# ---- many refs and pushes: lines accumulate, sorted ----
git -C "$W" tag v2.0
git -C "$W" checkout -q -b custom/c
hrun git -C "$W" push origin v2.0 custom/c
expect "a tag and a custom branch on the same commit" 0 "" "rel: wf-release #1 created"
check "same commit: three lines, sorted by workflow" \
	wait_note "$G" "$c" "^passed build-custom #1 .*kind=custom rule=custom
passed wf-dev #1 .*
passed wf-release #1 .*rule=rel$"
git -C "$W" checkout -q main

# ---- racing pushes from three clones: no note lost ----
# race.git runs no poller (hook.poll: false): only the hooks write its
# notes, so a lost notes update would stay lost
hook_config "$T/race.yaml" "$FAKE_URL"
sed -i 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' "$T/race.yaml"
new_repo race "$T/race.yaml"
git -C "$T/race" push -q origin main 2>/dev/null
for i in 1 2 3; do
	pids=
	for k in a b c; do
		[ -d "$T/race$k" ] ||
			git clone -q "file://$T/race.git" "$T/race$k" 2>/dev/null
		git -C "$T/race$k" checkout -q -B "feature/$k$i" origin/main
		commit "$T/race$k" "race $k$i"
	done
	for k in a b c; do
		git -C "$T/race$k" push -q origin "feature/$k$i" 2>"$T/race-$k.err" &
		pids="$pids $!"
	done
	rcs=
	for p in $pids; do
		wait "$p"
		rcs="$rcs$?"
	done
	check "race $i: the three pushes succeed" test "$rcs" = 000
	check "race $i: each pusher sees its task" \
		test "$(cat "$T"/race-[abc].err | grep -c 'dev: wf-dev #[0-9]* created')" = 3
	for k in a b c; do
		check "race $i: the note of feature/$k$i is there at once" \
			test "$(note "$T/race.git" "feature/$k$i" | cut -d' ' -f1-2)" = "created wf-dev"
	done
done
check "race: no poller was started" test -z "$(pollers "$T/race.git")"
run_in "$T/race.git" git zadig sync
expect "race: sync polls the ten tasks" 0 "^delivered 0 triggers, polled 10 tasks, updated 10 notes$"

# ---- a poller killed with -9 mid-way: nothing lost ----
git -C "$W" checkout -q -b slow/one
commit "$W" "a slow build"
s1=$(git -C "$W" rev-parse HEAD)
hrun git -C "$W" push origin slow/one
expect "a slow task" 0 "" "^$Z slow: wf-slow-build #1 created"
check "slow: running" wait_note "$G" "$s1" "^running wf-slow-build #1 " 5
pid=$(poller_of "$G")
check "slow: the poller is at work" test -n "$pid"
check "slow: one poller per store" test "$(echo "$pid" | wc -w)" = 1
check "slow: the token is not on the poller's command line" \
	absent "$TOKEN" /proc/$pid/cmdline
[ -n "$pid" ] && kill -9 $pid
check "slow: the poller is gone" wait_pollers 5 "$G"
fake_ctl POST tasks '{"kind":"product","workflow":"wf-slow-build","task_id":1,"status":"passed"}' >/dev/null
sleep 1
check "killed poller: the note stays running (nobody polls)" \
	wait_note "$G" "$s1" "^running wf-slow-build #1 " 1
# another push starts a new poller (the lock died with the old one)
commit "$W" "another slow build"
s2=$(git -C "$W" rev-parse HEAD)
hrun git -C "$W" push origin slow/one
expect "a second slow task" 0 "" "^$Z slow: wf-slow-build #2 created"
check "new poller: the killed poller's task ends passed" \
	wait_note "$G" "$s1" "^passed wf-slow-build #1 .* rule=slow$" 10
check "new poller: the new task runs" wait_note "$G" "$s2" "^running wf-slow-build #2 " 5
pid=$(poller_of "$G")
[ -n "$pid" ] && kill -9 $pid
wait_pollers 5 "$G"
fake_ctl POST tasks '{"kind":"product","workflow":"wf-slow-build","task_id":2,"status":"failed"}' >/dev/null
run_in "$G" git zadig sync
expect "sync after a killed poller" 0 "^delivered 0 triggers, polled 1 task, updated 1 note$"
check "sync: the task ends failed" test "$(note "$G" "$s2" | cut -d' ' -f1-3)" = "failed wf-slow-build #2"
check "slow: no task created twice" test "$(creates wf-slow-build)" = 2

# a poller killed while a trigger is queued: the next sync delivers it
fake_stop
commit "$W" "zadig gone"
s3=$(git -C "$W" rev-parse HEAD)
hrun git -C "$W" push origin slow/one
expect "queued while zadig is gone" 0 "" "slow: queued, cannot reach zadig"
pid=$(poller_of "$G")
check "queued: the poller waits for zadig" test -n "$pid"
[ -n "$pid" ] && kill -9 $pid
wait_pollers 5 "$G"
fake_start --port "$FAKE_PORT" --repo-root "$T"
check "the fake is back on the same port" test "$FAKE_URL" = "http://127.0.0.1:$(cat "$T/fake.port")"
# the restarted fake forgot its tasks: Zadig never reuses a task id
fake_ctl POST tasks '{"kind":"product","workflow":"wf-slow-build","task_id":2,"status":"failed"}' >/dev/null
run_in "$G" git zadig sync
expect "sync delivers what the killed poller left" 0 "^delivered 1 trigger"
check "queued after kill: created" wait_note "$G" "$s3" "^(created|running) wf-slow-build #3 .*rule=slow$" 1

# ---- one state_dir for two repositories: one poller notes both ----
hook_config "$T/shared.yaml" "$FAKE_URL" sync 5s "state_dir: $T/shared-state"
new_repo sa "$T/shared.yaml"
new_repo sb "$T/shared.yaml"
git -C "$T/sa" checkout -q -b slow/shared
hrun git -C "$T/sa" push origin slow/shared
expect "shared state: a slow task in repo sa" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
sid=$(sed -n 's/.*wf-slow-build #\([0-9]*\) created.*/\1/p' "$T/err")
check "shared state: sa's poller runs" test -n "$(poller_of "$T/sa.git")"
hrun git -C "$T/sb" push origin main
expect "shared state: a task in repo sb" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "shared state: sb's note ends passed (sa's poller writes it)" \
	wait_note "$T/sb.git" main "^passed wf-dev #[0-9]+ .*rule=dev$" 10
check "shared state: still one poller for the store" test -z "$(pollers "$T/sb.git")"
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${sid:-0},\"status\":\"passed\"}" >/dev/null
check "shared state: sa's note ends passed" \
	wait_note "$T/sa.git" slow/shared "^passed wf-slow-build #$sid .*rule=slow$" 10

# two repositories named alike ("app") in one state_dir: the second to
# push is told, once per change of the one recorded
check "shared state: no clash said so far" \
	bash -c "! grep -q 'is named' '$T/err'"
mkdir -p "$T/g1" "$T/g2"
git init -q --bare "$T/g1/app.git"
git init -q --bare "$T/g2/app.git"
zadig-hook install "$T/g1/app.git" --config "$T/shared.yaml" >/dev/null
zadig-hook install "$T/g2/app.git" --config "$T/shared.yaml" >/dev/null
git clone -q "file://$T/g1/app.git" "$T/g1/app" 2>/dev/null
git -C "$T/g1/app" commit -q --allow-empty -m "one app"
hrun git -C "$T/g1/app" push origin HEAD:refs/heads/feature/one
expect "same names: the first push" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "same names: nothing said yet" bash -c "! grep -q 'is named' '$T/err'"
hrun git -C "$T/g1/app" push "file://$T/g2/app.git" HEAD:refs/heads/feature/two
expect "same names: the other repository is told" 0 "" \
	"^$Z warning: $T/g1/app.git is named 'app' too, in this state_dir: .*set hook.repo_root so that names differ"

# one of the repositories deleted under the poller they share: it goes
# on with the other
new_repo sc "$T/shared.yaml"
new_repo sd "$T/shared.yaml"
git -C "$T/sc" checkout -q -b slow/c
git -C "$T/sd" checkout -q -b slow/d
for g in sa.git sb.git g1/app.git g2/app.git; do wait_pollers 20 "$T/$g"; done
hrun git -C "$T/sc" push origin slow/c
expect "shared, deleted: a slow task in sc" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
cid=$(sed -n 's/.*wf-slow-build #\([0-9]*\) created.*/\1/p' "$T/err")
hrun git -C "$T/sd" push origin slow/d
expect "shared, deleted: a slow task in sd" 0 "" "^$Z slow: wf-slow-build #[0-9]+ created"
did=$(sed -n 's/.*wf-slow-build #\([0-9]*\) created.*/\1/p' "$T/err")
check "shared, deleted: one poller, sc's" test -n "$(poller_of "$T/sc.git")"
sleep 1.5
rm -rf "$T/sc.git"
check "shared, deleted: the poller says so" \
	bash -c "for i in \$(seq 100); do grep -q '$T/sc.git/ is gone (moved or deleted): its notes are written again once a push records where it is' '$T/shared-state/poller.log' && exit 0; sleep 0.1; done; exit 1"
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${did:-0},\"status\":\"passed\"}" >/dev/null
check "shared, deleted: it goes on with sd's task" \
	wait_note "$T/sd.git" slow/d "^passed wf-slow-build #$did .*rule=slow$" 10
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${cid:-0},\"status\":\"passed\"}" >/dev/null

# ---- a notes lock a writer killed while holding it left ----
touch -d '1 hour ago' "$G/refs/notes/zadig.lock"
git -C "$W" checkout -q main
git -C "$W" commit -q --allow-empty -m "after a stale lock"
hrun git -C "$W" push origin main
expect "push past a stale notes lock" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
check "stale notes lock: the note is written" \
	wait_note "$G" main "^(created|running|passed) wf-dev #[0-9]+ .*rule=dev$" 10
check "stale notes lock: removed" test ! -e "$G/refs/notes/zadig.lock"

# ---- README set-up step 4, as written: a pattern refspec ----
git init -q --bare "$T/fresh.git"
zadig-hook install "$T/fresh.git" --config "$CFG" >/dev/null
git clone -q "file://$T/fresh.git" "$T/fresh" 2>/dev/null
cd "$T/fresh"
git commit -q --allow-empty -m "no rule fires for this branch"
git push -q origin HEAD:refs/heads/norule 2>/dev/null
git config --add remote.origin.fetch '+refs/notes/zadig*:refs/notes/zadig*'
git config notes.displayRef refs/notes/zadig
run git fetch
expect "step 4: a fetch before the server has notes works" 0
git push -q origin HEAD:main 2>/dev/null
check "step 4: the server's note" \
	wait_note "$T/fresh.git" main "^passed wf-dev #[0-9]+ " 10
run git fetch
expect "step 4: fetch" 0
run git log -1
expect "step 4: git log shows the note" 0 "^    passed wf-dev #[0-9]+ "
cd "$T"

# ---- the token is nowhere ----
git --git-dir="$G" log --all --notes=zadig >"$T/all-notes.txt"
check "notes were written (the next check reads them)" grep -q "rule=dev" "$T/all-notes.txt"
check "the token is in no note" absent "$TOKEN" "$T/all-notes.txt"

fake_ctl POST tasks '{"kind":"product","workflow":"wf-slow-build","task_id":3,"status":"passed"}' >/dev/null
run_in "$G" git zadig sync
check "the last slow task ends passed" \
	test "$(note "$G" "$s3" | cut -d' ' -f1-3)" = "passed wf-slow-build #3"
hook_finish
