#!/bin/bash
# What the detached poller does with a configuration changed under it
# (it re-reads the file every round): a file that does not load keeps the
# previous configuration, and says so; a new state_dir keeps this
# poller's store but takes the rest (a fixed zadig.url delivers).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"

hook_config "$T/app.yaml" "http://127.0.0.1:$(closed_port)"
new_repo app "$T/app.yaml"
G=$T/app.git
LOG=$G/zadig-hook/poller.log
hrun git -C "$T/app" push origin main
expect "zadig down: queued" 0 "" "^$Z dev: queued, cannot reach zadig"
check "the poller retries it" \
	wait_for_log "$G" "still queued: cannot reach zadig" 10

# ---- a configuration that does not load ----
cp "$T/app.yaml" "$T/app.yaml.good"
sed -i 's/^  interval: 200ms$/  interval: 2x/' "$T/app.yaml"
check "a broken file: the error, and that the previous configuration stays" \
	wait_for_log "$G" "app.yaml:[0-9]+:[0-9]+: .*'2x'.*; keeping the previous configuration$" 10
check "... said once" \
	test "$(grep -c "'2x'" "$LOG")" = 1
mv "$T/app.yaml" "$T/app.yaml.broken"
check "a missing file: said too, with the same ending" \
	wait_for_log "$G" "cannot read '?$T/app.yaml'?.*; keeping the previous configuration$" 10
check "the poller still runs" test -n "$(pollers "$G")"

# fixed: the poller takes the file again
sed -e "s|^  url: .*|  url: $FAKE_URL|" "$T/app.yaml.good" >"$T/app.yaml"
check "once the file loads, the poller takes it: the trigger is delivered" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$" 20

# ---- a new state_dir, and the fixed url, at once ----
# the poller used to keep the whole old configuration, the old url too,
# without a word, and retried the trigger there until it gave up
hook_config "$T/mv.yaml" "http://127.0.0.1:$(closed_port)"
new_repo mv "$T/mv.yaml"
G=$T/mv.git
LOG=$G/zadig-hook/poller.log
hrun git -C "$T/mv" push origin main
expect "moved: zadig down, queued" 0 "" "^$Z dev: queued, cannot reach zadig"
check "moved: the poller retries it" \
	wait_for_log "$G" "still queued: cannot reach zadig" 10
sed -i "s|^  url: .*|  url: $FAKE_URL|" "$T/mv.yaml"
printf 'state_dir: %s\n' "$T/newstate" >>"$T/mv.yaml"
check "moved: the new state_dir is logged with what the poller does" \
	wait_for_log "$G" "config: state_dir changed to '$T/newstate'; this poller keeps serving '$G/zadig-hook'" 10
check "moved: the rest of the new configuration is taken: the trigger is delivered" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$" 20
check "moved: the state_dir line is said once" \
	test "$(grep -c "state_dir changed" "$LOG")" = 1
check "moved: the old store keeps the work: nothing went into the new one" \
	test ! -e "$T/newstate/state.db"

hook_finish
