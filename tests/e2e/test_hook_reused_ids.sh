#!/bin/bash
# Zadig task ids that start again (Zadig reinstalled, a workflow deleted
# and made again under its name: its ids restart at 1): each commit keeps
# its own task, and no commit's note takes another commit's status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

# (--repo-root: fake Zadig knows the commit each task built, as Zadig
# does: the commitId lookup has the create_time a product task's detail
# lacks)
fake_start --repo-root "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
Z="remote: zadig:"
new_repo app "$CFG"
W=$T/app
G=$T/app.git
U="http://127.0.0.1:$FAKE_PORT/v1/projects/detail/default/pipelines/multi/wf-dev"

hrun git -C "$W" push origin main
expect "first push" 0 "" "^$Z dev: wf-dev #1 created"
c1=$(git -C "$W" rev-parse HEAD)
check "the first commit's note ends passed" \
	wait_note "$G" "$c1" "^passed wf-dev #1 $U/1 .*rule=dev$"
check "first push: the poller is done" wait_pollers 20
old=$(note "$G" "$c1")

# Zadig starts its ids again: the next push gets #1 once more
fake_ctl POST reset >/dev/null
fake_ctl POST config '{"final":"failed"}' >/dev/null
commit "$W" "second"
hrun git -C "$W" push origin main
expect "a push after the ids restarted" 0 "" "^$Z dev: wf-dev #1 created"
c2=$(git -C "$W" rev-parse HEAD)
check "the second commit gets a note of its own task" \
	wait_note "$G" "$c2" "^failed wf-dev #1 $U/1 .*rule=dev$"
check "second push: the poller is done" wait_pollers 20
check "the first commit's note is as it was" \
	test "$(note "$G" "$c1")" = "$old"

# a re-check of every task writes each status onto its own commit
run_in "$G" git zadig sync --all
expect "sync --all after the ids restarted" 0 "polled 1 task"
check "sync --all: the first commit's note is as it was" \
	test "$(note "$G" "$c1")" = "$old"
check "sync --all: the second commit's note keeps its task" \
	wait_note "$G" "$c2" "^failed wf-dev #1 " 1

# the ids restart again and someone else's task takes #1, made after the
# second commit's task was recorded, for another commit: Zadig's product
# task detail does not say which commit it built, nor when it was made,
# but the lookup of the second commit, which listed its task, lists it no
# more, less than a day after Zadig made it: a re-check leaves that note
# alone, and says so
fake_ctl POST reset >/dev/null
at=$(($(date +%s) + 3600))
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-dev\",\"task_id\":1,\"status\":\"passed\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\",\"create_time\":$at}" >/dev/null
before=$(note "$G" "$c2")
run_in "$G" git zadig sync --all
expect "sync --all with #1 another task now" 0 "" \
	"wf-dev #1 of ${c2:0:12} is another task now"
check "sync --all: the second commit's note is as it was but says so" \
	test "$(note "$G" "$c2")" = "${before% rule=dev} reused=1 rule=dev"
check "sync --all: the first commit's note is as it was, still" \
	test "$(note "$G" "$c1")" = "$old"

# and it is not asked about again: its line stays, whatever Zadig says
before=$(note "$G" "$c2")
run_in "$G" git zadig sync --all
expect "sync --all again" 0 "polled 0 tasks"
check "sync --all again: the second commit's note is as it was" \
	test "$(note "$G" "$c2")" = "$before"

hook_finish
