#!/bin/bash
# zadig-webhook: notes it cannot write because webhook.repos names a
# repository that is not there (moved, deleted) are logged once, then
# once a minute with a count, saying what to do, where the same line came
# every poll round; a project with no webhook.repos entry gets one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

W=$T/app
git init -q "$W"
echo a >"$W/a.c"
git -C "$W" add -A && git -C "$W" commit -qm one
C1=$(git -C "$W" rev-parse HEAD)
echo b >>"$W/a.c"
git -C "$W" commit -qam two
C2=$(git -C "$W" rev-parse HEAD)

# repos_config PATH-YAML: the config, g/app's repos entry as given
repos_config() {
	wh_config "$CFG" "$1
rules:
  - name: dev
    repo: g/app
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      targets:
        - name: app
          repos: [app]"
}
CFG=$T/webhook.yaml
repos_config "  repos:
    - project: g/app
      path: $T/moved.git"
wh_start "$CFG"

printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/main","project":{"path_with_namespace":"g/app"},"commits":[],"total_commits_count":1}' \
	"$C1" "$C2" >"$T/push.json"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: r-1" >/dev/null
want "push: 202" 202 '"status":"accepted"'
check "the task is created (from the payload)" \
	wait_until 30 log_has "key=r-1 .*result=dev:created"
check "the notes that cannot be written are logged, with what to do" \
	wait_until 10 log_has "^zadig-webhook: notes of g/app: .*moved.git.*; the notes wait: fix its webhook.repos path and send SIGHUP$"
sleep 3 # 15 poll rounds at 200 ms
n=$(grep -c "notes of g/app: .*moved.git" "$T/wh.err")
check "... once, not every poll round ($n lines in 3 s)" test "$n" = 1

# the project taken out of webhook.repos: its notes are skipped, said once
repos_config ""
kill -HUP "$WH_PID"
check "reloaded without g/app" \
	wait_until 5 bash -c "[ \$(grep -c 'reloaded' '$T/wh.err') -ge 1 ]"
check "a project with no webhook.repos entry: said" \
	wait_until 5 log_has "^zadig-webhook: notes of g/app: not written: no webhook.repos entry matches the project \(add one and send SIGHUP\)$"
sleep 2
check "... once" test "$(grep -c 'no webhook.repos entry' "$T/wh.err")" = 1

# fixed: the notes are written
repos_config "  repos:
    - project: g/app
      path: $W"
kill -HUP "$WH_PID"
check "with the path fixed the note is written" \
	wait_until 15 bash -c "git -C '$W' notes --ref=zadig show $C2 2>/dev/null | grep -q 'wf-dev #1'"

wh_stop
check "stops cleanly" test "$WH_RC" = 0
check "the token is in no log line" bash -c "! grep -qF -- '$TOKEN' '$T/wh.err'"
finish
