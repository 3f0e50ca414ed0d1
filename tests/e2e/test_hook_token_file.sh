#!/bin/bash
# A zadig.token_file the program cannot read (missing, not a regular
# file; for the pushing user, one of mode 0600 that is not theirs) is a
# problem of sending, not of the configuration: a push is recorded and
# kept queued, as with a token Zadig refuses (design.md §8), and
# delivered once the file can be read; git zadig explain and trigger
# --dry-run, which send nothing, work; the verbs that send fail with the
# token's error; git zadig config check reports it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
Z="remote: zadig:"

# token_config FILE TOKEN-FILE [MODE [DEADLINE [EXTRA-YAML]]]: hook_config
# with the token in TOKEN-FILE (line 3, column 15).
token_config() {
	local file=$1 tf=$2
	shift 2
	hook_config "$file" "$FAKE_URL" "$@"
	sed -i "s|^  token: .*|  token_file: $tf|" "$file"
}

# all_requests: how many API requests the fake got.
all_requests() {
	cat "$T/fake.log" 2>/dev/null | grep -cE '^[A-Z]+ /(api|openapi)/'
}

# ---- the hook: recorded, queued with the reason; sync delivers it once
# the file can be read (app.git has no poller) ----
TF=$T/token
token_config "$T/app.yaml" "$TF" sync 10s
sed -i 's/^  deadline: 10s$/  deadline: 10s\n  poll: false/' "$T/app.yaml"
WHY="$T/app.yaml:3:15: cannot read token file '$TF': No such file or directory"
git init -q --bare "$T/app.git"
run zadig-hook install "$T/app.git" --config "$T/app.yaml"
expect "no token file: install warns and installs" 0 "^installed the post-receive hook" \
	"^zadig-hook: warning: $WHY; until the pushing user can read it, pushes are recorded and kept queued$"
git clone -q "file://$T/app.git" "$T/app" 2>/dev/null
git -C "$T/app" commit -q --allow-empty -m "first commit of app"
G=$T/app.git
hrun git -C "$T/app" push origin main
expect "no token file: the push succeeds, queued with the reason" 0 "" \
	"^$Z dev: queued, $WHY; will retry once the token is fixed *$"
check "no token file: nothing is said lost" \
	bash -c "! grep -qE 'nothing triggered|configuration error' '$T/err'"
check "no token file: the note says queued" \
	test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"
check "no token file: nothing reached zadig" test "$(all_requests)" = 0

run_in "$G" git zadig explain
expect "no token file: explain works" 0 "^  dev +fires: workflow wf-dev$"
run_in "$G" git zadig trigger --dry-run
expect "no token file: trigger --dry-run works" 0 \
	"^POST /api/directory/workflowTask/create"
check "no token file: ... and says nothing of the token" test ! -s "$T/err"
for verb in "show wf-dev 1" "show build-custom 1 --custom" "retry wf-dev 1" \
	"cancel wf-dev 1" "approve build-custom 1 deploy" "status --live main" \
	"trigger"; do
	# shellcheck disable=SC2086 # the verb's words
	run_in "$G" git zadig $verb
	expect "no token file: '$verb' fails with its error (exit 1, as for a refused token)" \
		1 "" "^git-zadig: error: $WHY$"
done
check "no token file: status --live printed nothing" test ! -s "$T/out"
check "no token file: still nothing reached zadig" test "$(all_requests)" = 0

run_in "$G" git zadig config check
expect "no token file: config check reports it" 2 "^$WHY$" \
	"^git-zadig: error: '$T/app.yaml' is not valid \(1 error\)$"

run_in "$G" git zadig sync
expect "no token file: sync keeps it, loudly" 1 "^delivered 0 triggers, " \
	"^git-zadig: CANNOT READ THE ZADIG TOKEN for app/dev: $WHY; the trigger stays queued until it can be read$"
check "no token file: sync's error counts it" \
	grep -q "^git-zadig: error: 1 trigger still queued" "$T/err"
check "no token file: sync: still queued" \
	test "$(note "$G" main)" = "queued wf-dev #- - rule=dev"

# the file is there now
printf '%s\n' "$TOKEN" >"$TF"
chmod 600 "$TF"
run_in "$G" git zadig config check
expect "token file fixed: config check" 0 "^ok$"
run_in "$G" git zadig sync
expect "token file fixed: sync delivers it" 0 "^delivered 1 trigger, "
check "token file fixed: exactly one create" test "$(creates wf-dev)" = 1
check "token file fixed: the note has the task" \
	wait_note "$G" main "^(created|running|passed) wf-dev #[0-9]+ " 2
run_in "$G" git zadig show wf-dev 1
expect "token file fixed: show works" 0 "^wf-dev #1: "

# ---- the poller: a directory named as the token file; the running
# poller delivers once a file is there ----
TD=$T/tokdir
mkdir "$TD"
token_config "$T/polled.yaml" "$TD"
new_repo polled "$T/polled.yaml"
G=$T/polled.git
n=$(creates wf-dev)
hrun git -C "$T/polled" push origin main
expect "token file a directory: queued with the reason" 0 "" \
	"^$Z dev: queued, $T/polled.yaml:3:15: token file '$TD' is not a regular file; will retry once the token is fixed *$"
check "token file a directory: the poller keeps it" test -n "$(poller_of "$G")"
check "token file a directory: the poller says so loudly" \
	wait_for_log "$G" "CANNOT READ THE ZADIG TOKEN for polled/dev: .*token file '$TD' is not a regular file" 10
check "token file a directory: nothing sent" test "$(creates wf-dev)" = "$n"
rmdir "$TD"
printf '%s\n' "$TOKEN" >"$TD.tmp"
chmod 600 "$TD.tmp"
mv "$TD.tmp" "$TD"
check "token file fixed: the running poller delivers and finishes it" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$" 30
check "token file fixed: exactly one more create" \
	test "$(creates wf-dev)" = $((n + 1))

hook_finish
