#!/bin/bash
# state_keep: the store forgets what settled and was noted, the notes keep
# every line, and a commit the store forgot fires again when pushed again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"
hook_config "$T/keep.yaml" "$FAKE_URL" sync 5s "state_keep: 1s"
# the store keeps rows at least poll.give_up_after (5m in hook_config):
# short here, yet long enough for a task to end under sanitizers
sed -i 's/give_up_after: 5m/give_up_after: 2s/' "$T/keep.yaml"
new_repo keep "$T/keep.yaml"
G=$T/keep.git
W=$T/keep

hrun git -C "$W" push origin main
expect "a push" 0 "" "^$Z dev: wf-dev #1 created"
a=$(git -C "$W" rev-parse HEAD)
check "its note ends passed" wait_note "$G" "$a" "^passed wf-dev #1 "
check "its poller exits" wait_pollers 20 "$G"
# the same commit again while the store remembers it: no second task
git --git-dir="$G" update-ref -d refs/heads/main
hrun git -C "$W" push origin main
expect "pushed again at once: the trigger it had" 0 "" "^$Z dev: already triggered: wf-dev #1 "
check "... and no second create" test "$(creates wf-dev)" = 1
check "its poller exits" wait_pollers 20 "$G"
sleep 2.2

commit "$W" "second"
hrun git -C "$W" push origin main
expect "a later push" 0 "" "^$Z dev: wf-dev #2 created"
check "its poller forgets the settled rows" \
	wait_for_log "$G" "store: forgot [0-9]+ settled triggers and tasks older than state_keep"
check "the forgotten commit keeps its note" \
	test "$(note "$G" "$a" | cut -d' ' -f1-3)" = "passed wf-dev #1"
check "its poller exits" wait_pollers 20 "$G"
hrun git -C "$W" push -f origin "$a:main"
expect "the forgotten commit pushed again fires again" 0 "" \
	"^$Z dev: wf-dev #3 created"
check "its note gets the new task beside the old one" \
	wait_note "$G" "$a" "^passed wf-dev #3 "
check "... keeping the old one" bash -c "git --git-dir='$G' notes --ref=zadig show $a | grep -q '^passed wf-dev #1 '"

# state_keep 0s: nothing is forgotten
hook_config "$T/forever.yaml" "$FAKE_URL" sync 5s "state_keep: 0s"
new_repo forever "$T/forever.yaml"
hrun git -C "$T/forever" push origin main
expect "forever: a push" 0 "" "^$Z dev: wf-dev #4 created"
check "forever: its note ends passed" \
	wait_note "$T/forever.git" main "^passed wf-dev #4 "
check "forever: its poller exits" wait_pollers 20 "$T/forever.git"
sleep 1.2
commit "$T/forever" "second"
hrun git -C "$T/forever" push origin main
expect "forever: a later push" 0 "" "^$Z dev: wf-dev #5 created"
check "forever: its poller exits" wait_pollers 20 "$T/forever.git"
check "forever: nothing forgotten" \
	bash -c "! grep -q 'store: forgot' '$T/forever.git/zadig-hook/poller.log'"
hrun git -C "$T/forever" push -f origin "HEAD~1:main"
expect "forever: the first commit pushed again: its trigger" 0 "" "^$Z dev: already triggered: wf-dev #4 "

hook_finish
