#!/bin/bash
# git zadig trigger on the server's repository: the tasks it creates are
# recorded in the store the hook's poller and `git zadig sync` use,
# noted on the commit and followed to their end; each trigger is a new
# task (an explicit request, never deduplicated).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

# (--repo-root: fake Zadig knows the commit each task built, as Zadig
# does, so its commitId lookup has the times a note's duration needs)
fake_start --repo-root "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
new_repo app "$CFG"
W=$T/app
G=$T/app.git
DB=$G/zadig-hook/state.db

tasks() {
	sqlite3 -cmd ".timeout 20000" "$DB" \
		"SELECT workflow, custom, task_id, rule, ref FROM tasks ORDER BY 1, 2, 3" |
		tr '\n' ' '
}

hrun git -C "$W" push origin main
expect "push" 0 "" "zadig: dev: wf-dev #1 created"
c=$(git -C "$W" rev-parse HEAD)
check "the hook's task is noted" wait_note "$G" "$c" "^passed wf-dev #1 "
check "its poller is done" wait_pollers 20

# ---- trigger in the bare repository: noted, polled by the poller ----
run_in "$G" git zadig trigger main --ref main
expect "trigger" 0 "^dev: wf-dev #2 created http://127.0.0.1:$FAKE_PORT/"
check "the task is in the store" test "$(tasks)" = "wf-dev|0|1|dev|refs/heads/main wf-dev|0|2|dev|refs/heads/main "
check "the note has its line at once" \
	wait_note "$G" "$c" "^[a-z]+ wf-dev #2 http://127.0.0.1:$FAKE_PORT/.*/wf-dev/2 .*rule=dev$" 1
check "the hook's line stays" wait_note "$G" "$c" "^passed wf-dev #1 " 1
check "the poller takes it to its end" \
	wait_note "$G" "$c" "^passed wf-dev #2 http://.* duration=[0-9]+s tests=24/24 rule=dev$"
check "the poller ends" wait_pollers 20

# ---- an explicit request: a new task every time ----
run_in "$G" git zadig trigger main --ref main
expect "trigger again" 0 "^dev: wf-dev #3 created"
check "a second trigger is a third task" \
	wait_note "$G" "$c" "^passed wf-dev #3 .*rule=dev$"
check "three lines" test "$(note "$G" "$c" | wc -l)" = 3
check "the poller ends again" wait_pollers 20

# ---- without the poller (hook.poll: false): git zadig sync polls it ----
hook_config "$T/nopoll.yaml" "$FAKE_URL"
sed -i 's/^hook:$/hook:\n  poll: false/' "$T/nopoll.yaml"
run_in "$G" git zadig --config "$T/nopoll.yaml" trigger main --ref main
expect "trigger with hook.poll false" 0 "^dev: wf-dev #4 created"
check "noted as created" wait_note "$G" "$c" "^created wf-dev #4 .*rule=dev$" 1
check "no poller started" test -z "$(pollers "$G")"
run_in "$G" git zadig --config "$T/nopoll.yaml" sync
expect "sync polls it" 0 "polled 1 task, updated 1 note"
for _ in 1 2 3; do
	note "$G" "$c" | grep -q "^passed wf-dev #4 " && break
	run_in "$G" git zadig --config "$T/nopoll.yaml" sync
done
check "sync takes it to its end" wait_note "$G" "$c" "^passed wf-dev #4 .*rule=dev$" 1

# ---- a custom workflow, triggered on another ref ----
git -C "$W" push -q origin main:custom/x 2>/dev/null
check "custom push settles" wait_pollers 20
run_in "$G" git zadig --config "$T/nopoll.yaml" trigger custom/x --ref custom/x
expect "trigger a custom workflow" 0 "^custom: build-custom #2 created"
check "its line says kind=custom" \
	wait_note "$G" "$c" "^created build-custom #2 http://.* kind=custom rule=custom$" 1
check "recorded as a custom task of its ref" \
	grep -q "build-custom|1|2|custom|refs/heads/custom/x" <<<"$(tasks)"

# ---- --dry-run records nothing ----
before=$(tasks)
run_in "$G" git zadig trigger main --ref main --dry-run
expect "dry run" 0 "^POST /api/directory/workflowTask/create"
check "dry run: nothing recorded" test "$(tasks)" = "$before"

# ---- Zadig refuses: nothing recorded, exit 1 as before ----
hook_config "$T/bad.yaml" "$FAKE_URL"
sed -i 's/branches: \["bad\/\*"\]/branches: [main]/' "$T/bad.yaml"
run_in "$G" git zadig --config "$T/bad.yaml" trigger main --ref main --rule bad
expect "a refused trigger fails" 1 "" "6540"
check "a refused trigger: nothing recorded" test "$(tasks)" = "$before"

check "no poller left" wait_pollers 20
check "nothing leaked the token" absent "$TOKEN" "$G/zadig-hook/poller.log"
finish
