#!/bin/bash
# The configuration changed while triggers wait for Zadig: a rule taken
# out is not sent (its queued triggers are rejected, noted, logged); the
# rules still there are sent as they were recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"

# ---- a rule removed while Zadig was down ----
hook_config "$T/cfg.yaml" "http://127.0.0.1:$(closed_port)" sync 10s
sed -i 's/^  deadline: 10s$/  deadline: 10s\n  poll: false/' "$T/cfg.yaml"
new_repo app "$T/cfg.yaml"
G=$T/app.git
hrun git -C "$T/app" push origin main
expect "down: queued" 0 "" "^$Z dev: queued, cannot reach zadig"
git -C "$T/app" tag v1
hrun git -C "$T/app" push origin v1
expect "down: the tag queued" 0 "" "^$Z rel: queued, cannot reach zadig"
# Zadig is back, and the rule dev is gone from the configuration
sed -i "s|^  url: .*|  url: $FAKE_URL|; s/^  - name: dev$/  - name: dev-renamed/" "$T/cfg.yaml"
run_in "$G" git zadig sync
expect "back: sync sends what is still configured" 1 \
	"^delivered 1 trigger, " \
	"^git-zadig: app/dev: rule 'dev' is no longer in the configuration; not sent$"
check "back: sync's error counts it" grep -q "^git-zadig: error: 1 trigger rejected" "$T/err"
check "back: the tag's rule is sent" test "$(creates wf-release)" = 1
check "back: the removed rule is not" test "$(creates wf-dev)" = 0
check "back: its note says why" \
	test "$(note "$G" main | grep wf-dev)" = "rejected wf-dev #- - error=\"rule 'dev' is no longer in the configuration; not sent\" rule=dev"
run_in "$G" git zadig sync
expect "back: a second sync has nothing to do" 0 "^delivered 0 triggers"
check "back: still nothing sent for it" test "$(creates wf-dev)" = 0

# ---- the receiver-less poller does the same ----
hook_config "$T/cfg2.yaml" "http://127.0.0.1:$(closed_port)" sync 10s
new_repo app2 "$T/cfg2.yaml"
G=$T/app2.git
hrun git -C "$T/app2" push origin main
expect "poller: queued" 0 "" "^$Z dev: queued, cannot reach zadig"
check "poller: it retries" wait_for_log "$G" "still queued: cannot reach zadig" 5
sed -i "s|^  url: .*|  url: $FAKE_URL|; s/^  - name: dev$/  - name: dev-renamed/" "$T/cfg2.yaml"
check "poller: it logs the rule removed" \
	wait_for_log "$G" "app2/dev: rule 'dev' is no longer in the configuration; not sent" 10
check "poller: the note says so" \
	wait_note "$G" main "^rejected wf-dev #- - error=\"rule 'dev' is no longer" 5
check "poller: nothing sent" test "$(creates wf-dev)" = 0

hook_finish
