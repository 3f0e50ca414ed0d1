#!/bin/bash
# git push into a bare repository with the hook, over file:// and over
# git daemon: what fires, what the pusher sees, what Zadig gets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

# (--repo-root: fake Zadig knows the commit each task built, as Zadig
# does, so its commitId lookup has the times a note's duration needs)
fake_start --repo-root "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
Z="remote: zadig:"
U="http://127.0.0.1:$FAKE_PORT/"

new_repo app "$CFG"
W=$T/app
G=$T/app.git

# ---- the first push over file:// ----
hrun git -C "$W" push origin main
expect "push main over file://" 0 "" "^$Z dev: wf-dev #1 created ${U}v1/projects/detail/default/pipelines/multi/wf-dev/1 *$"
check "push: one zadig line for one rule" test "$(grep -c "$Z" "$T/err")" = 1
check "push: the fake got one create for wf-dev" test "$(creates wf-dev 200)" = 1
requests
check "push: the create body names the repository (\${REPO})" \
	grep -q '\\"repo_name\\": \\"app\\"' "$T/req.json"
check "push: the create body names the branch" \
	grep -q '\\"branch\\": \\"main\\"' "$T/req.json"
check "push: the bearer token was sent" grep -q "\"authorization\": \"Bearer $TOKEN\"" "$T/req.json"
check "push: the note says created, then the poller makes it passed" \
	wait_note "$G" main "^passed wf-dev #1 ${U}v1/projects/detail/default/pipelines/multi/wf-dev/1 duration=[0-9]+s tests=24/24 rule=dev$"

# ---- a hook re-run with the same input: no second task ----
c=$(git -C "$W" rev-parse HEAD)
RC=0
printf '%040d %s refs/heads/main\n' 0 "$c" |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "hook re-run by hand" 0 "" "^zadig: dev: already triggered: wf-dev #1 $U"
check "hook re-run: no second create" test "$(creates wf-dev)" = 1

# ---- a new branch, then a force push, then its deletion ----
git -C "$W" checkout -q -b feature/x
commit "$W" "feature work"
hrun git -C "$W" push origin feature/x
expect "new branch" 0 "" "^$Z dev: wf-dev #2 created $U"
git -C "$W" commit -q --amend -m "feature work, amended"
hrun git -C "$W" push -f origin feature/x
expect "force push" 0 "" "^$Z dev: wf-dev #3 created $U"
check "force push: a task for the new tip" wait_note "$G" feature/x "wf-dev #3 "
n=$(creates wf-dev)
hrun git -C "$W" push origin :feature/x
expect "branch deletion succeeds" 0 "" "deleted"
check "branch deletion: no zadig line" bash -c "! grep -q 'zadig:' '$T/err'"
check "branch deletion: nothing sent" test "$(creates wf-dev)" = "$n"

# ---- tags: the tag rule fires, annotated or not ----
git -C "$W" checkout -q main
git -C "$W" tag -a v1.0 -m "release 1.0"
hrun git -C "$W" push origin v1.0
expect "annotated tag" 0 "" "^$Z rel: wf-release #1 created $U"
check "annotated tag: only the tag rule" test "$(grep -c "$Z" "$T/err")" = 1
check "annotated tag: the note is on the tagged commit" \
	wait_note "$G" main "wf-release #1 .*rule=rel"
git -C "$W" tag other-tag
hrun git -C "$W" push origin other-tag
expect "tag no rule matches" 0 "" "^$Z no rule matches refs/tags/other-tag *$"

tree=$(git -C "$W" rev-parse 'HEAD^{tree}')
git -C "$W" tag v-tree "$tree"
hrun git -C "$W" push origin v-tree
expect "a tag of a tree: the push succeeds, the hook says why nothing fired" 0 "" \
	"^$Z refs/tags/v-tree: cannot read the push: '$tree' is not a commit; nothing triggered"
# moved onto a commit: its old side is no commit, taken as a new tag
hrun git -C "$W" push -f origin HEAD:refs/tags/v-tree
expect "a tag moved from a tree onto a commit fires" 0 "" \
	"^$Z rel: wf-release #[0-9]+ created $U"
check "a tag moved from a tree: no error line" \
	bash -c "! grep -q 'cannot read the push' '$T/err'"

# ---- six refs in one push: recorded together, one flush ----
for b in a b c d e f; do
	git -C "$W" checkout -q -b "feature/$b" main
	commit "$W" "work on $b"
done
n=$(creates wf-dev)
hrun git -C "$W" push origin feature/a feature/b feature/c feature/d feature/e feature/f
expect "six refs in one push" 0 "" "$Z dev: wf-dev #[0-9]+ created"
check "six refs: six created lines" test "$(grep -c "$Z dev: wf-dev #[0-9]* created" "$T/err")" = 6
for b in a b c d e f; do
	check "six refs: feature/$b noted" wait_note "$G" "feature/$b" "wf-dev #[0-9]+ .*rule=dev"
done
check "six refs: six creates" test "$(creates wf-dev)" = $((n + 6))
requests
for b in a b c d e f; do
	check "six refs: feature/$b sent as the branch" \
		grep -q "\\\\\"branch\\\\\": \\\\\"feature/$b\\\\\"" "$T/req.json"
done

# ---- the store refuses the record: all or nothing, each ref says so ----
# (the poller may be writing: sqlite3 waits for its lock)
check "store refuses: an SQL trigger refuses inserts" \
	sqlite3 -cmd ".timeout 20000" "$G/zadig-hook/state.db" "CREATE TRIGGER refuse
	BEFORE INSERT ON triggers BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
for b in q1 q2; do
	git -C "$W" checkout -q -b "feature/$b" main
	commit "$W" "work on $b"
done
n=$(creates wf-dev)
hrun git -C "$W" push origin feature/q1 feature/q2
for b in q1 q2; do
	expect "store refuses: feature/$b says nothing triggered" 0 "" \
		"^$Z refs/heads/feature/$b: .*refused by the test.*; nothing triggered"
done
check "store refuses: nothing sent" test "$(creates wf-dev)" = "$n"
check "store refuses: nothing recorded" test "$(sqlite3 -cmd ".timeout 20000" "$G/zadig-hook/state.db" \
	"SELECT count(*) FROM triggers WHERE ref LIKE 'refs/heads/feature/q%'")" = 0
check "store refuses: the SQL trigger dropped" \
	sqlite3 -cmd ".timeout 20000" "$G/zadig-hook/state.db" "DROP TRIGGER refuse"

# ---- skip markers and push options ----
git -C "$W" checkout -q main
commit "$W" "wip [skip ci]"
n=$(creates wf-dev)
hrun git -C "$W" push origin main
expect "[skip ci] in the tip message" 0 "" "^$Z refs/heads/main skipped \(.*skip ci.*\)"
check "[skip ci]: nothing sent" test "$(creates wf-dev)" = "$n"
commit "$W" "more work"
hrun git -C "$W" push -o ci.skip origin main
expect "git push -o ci.skip" 0 "" "^$Z refs/heads/main skipped \(.*ci.skip.*\)"
check "-o ci.skip: nothing sent" test "$(creates wf-dev)" = "$n"
check "-o ci.skip: no note" test -z "$(note "$G" main)"
commit "$W" "and more"
hrun git -C "$W" push -o zadig.skip -o other origin main
expect "git push -o zadig.skip among others" 0 "" "^$Z refs/heads/main skipped"
check "-o zadig.skip: nothing sent" test "$(creates wf-dev)" = "$n"

# ---- no rule ----
git -C "$W" checkout -q -b foo
hrun git -C "$W" push origin foo
expect "no rule matches" 0 "" "^$Z no rule matches refs/heads/foo *$"
check "no rule: nothing sent" test "$(creates wf-dev)" = "$n"
# decided from the ref before a commit is read: even one the repository
# lacks (a ref a rule covers has its commit read, and the lack said)
RC=0
printf '%040d %s refs/heads/foo\n' 0 1234567890123456789012345678901234567890 |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "no rule: decided before reading the commit" 0 "" "^zadig: no rule matches refs/heads/foo *$"
RC=0
printf '%040d %s refs/heads/main\n' 0 1234567890123456789012345678901234567890 |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "a rule's ref, a commit the repository lacks: said" 0 "" "^zadig: refs/heads/main: cannot read the push"

# ---- a branch name and message beyond ASCII ----
git -C "$W" checkout -q -b "feature/naïve-ü"
commit "$W" 'unicode ✓ "quoted" $(not run)'
hrun git -C "$W" push origin "feature/naïve-ü"
expect "a unicode branch" 0 "" "^$Z dev: wf-dev #[0-9]+ created"
requests
check "unicode branch: sent as the branch" grep -q 'feature/naïve-ü' "$T/req.json"
check "unicode branch: noted" wait_note "$G" "feature/naïve-ü" "^passed wf-dev #[0-9]+ "

# ---- input the hook does not expect ----
n=$(creates wf-dev)
RC=0
printf 'garbage\n\n%040d %040d refs/heads/x\n' 0 0 |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "malformed hook input: exit 0, said" 0 "" "^zadig: .*malformed"
check "malformed hook input: nothing sent" test "$(creates wf-dev)" = "$n"

# ---- a custom workflow ----
git -C "$W" checkout -q -b custom/one
commit "$W" "custom"
hrun git -C "$W" push origin custom/one
expect "custom workflow" 0 "" "^$Z custom: build-custom #1 created $U"
check "custom workflow: noted with kind=custom, then passed" \
	wait_note "$G" custom/one "^passed build-custom #1 .*kind=custom rule=custom$"
check "custom workflow: one trigger request" test "$(creates build-custom 200)" = 1

# ---- over git daemon on 127.0.0.1 ----
mkdir -p "$T/srv"
git init -q --bare "$T/srv/d.git"
zadig-hook install "$T/srv/d.git" --config "$CFG" >/dev/null
if daemon_start "$T/srv"; then
	ok "git daemon listens on 127.0.0.1:$DAEMON_PORT"
	git clone -q "git://127.0.0.1:$DAEMON_PORT/d.git" "$T/d" 2>/dev/null
	commit "$T/d" "over the daemon"
	hrun git -C "$T/d" push origin main
	expect "push over git://" 0 "" "^$Z dev: wf-dev #[0-9]+ created $U"
	check "git://: the note is written and fetched back" \
		wait_note "$T/srv/d.git" main "^passed wf-dev #[0-9]+ "
	git -C "$T/d" fetch -q origin "+refs/notes/zadig:refs/notes/zadig"
	check "git://: the clone fetched the note" \
		test -n "$(git -C "$T/d" notes --ref=zadig show HEAD)"
	commit "$T/d" "skip over the daemon"
	hrun git -C "$T/d" push -o ci.skip origin main
	expect "git:// push -o ci.skip" 0 "" "^$Z refs/heads/main skipped"
else
	not_ok "git daemon did not start" "$(cat "$T/daemon.log")"
fi

# ---- ZADIG_HOOK_CONFIG set but empty is unset: zadig.config counts ----
git -C "$W" checkout -q -b feature/emptyenv main
commit "$W" "pushed with an empty ZADIG_HOOK_CONFIG"
ZADIG_HOOK_CONFIG= hrun git -C "$W" push origin feature/emptyenv
expect "empty ZADIG_HOOK_CONFIG: the hook reads zadig.config" 0 "" \
	"^$Z dev: wf-dev #[0-9]+ created "
run_in "$G" env ZADIG_HOOK_CONFIG= git zadig config check
expect "empty ZADIG_HOOK_CONFIG: git zadig reads zadig.config" 0 "^ok$"

# ---- a ref name of 1024 bytes or more: git takes it, so do we ----
long_rule() {
	cat >>"$1" <<YAML
  - name: long
    branches: ["long/**"]
    workflow:
      name: wf-long
      env: dev
      targets: [{ name: vote, repos: ["\${REPO}"] }]
YAML
}
cp "$CFG" "$T/long.yaml"
long_rule "$T/long.yaml"
new_repo longref "$T/long.yaml"
seg=$(printf 'd%.0s' $(seq 200))
LONG=long/$seg/$seg/$seg/$seg/$seg/$seg
hrun git -C "$T/longref" push origin "HEAD:refs/heads/$LONG"
expect "a ref of $((${#LONG} + 11)) bytes fires its rule" 0 "" \
	"^$Z long: wf-long #[0-9]+ created $U"
check "a long ref: no malformed line" \
	bash -c "! grep -q 'malformed' '$T/err'"

# ---- async mode: the push only queues, the poller delivers ----
hook_config "$T/async.yaml" "$FAKE_URL" async
sed -i 's/^  timeout: 2s$/  timeout: 6s/' "$T/async.yaml"
new_repo as "$T/async.yaml"
n=$(creates wf-dev)
# a create the fake answers late: a hook that sent it would have waited
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":1500,"times":1}' >/dev/null
hrun git -C "$T/as" push origin main
check "async: no create was answered while the push ran" test "$(creates wf-dev)" = "$n"
expect "async push" 0 "" "^$Z refs/heads/main queued \(async\); status: git fetch, then git zadig status *$"
check "async: no task URL in the push output" bash -c "! grep -q created '$T/err'"
check "async: the poller notes it (queued, or later already created)" \
	wait_note "$T/as.git" main "^(queued wf-dev #- - |(created|running|passed) wf-dev #[0-9]+ )" 5
check "async: the poller delivers and the note ends passed" \
	wait_note "$T/as.git" main "^passed wf-dev #[0-9]+ .*rule=dev$"
check "async: exactly one create" test "$(creates wf-dev)" = $((n + 1))
git -C "$T/as" checkout -q -b feature/emptyenv
commit "$T/as" "queued with an empty ZADIG_HOOK_CONFIG"
ZADIG_HOOK_CONFIG= hrun git -C "$T/as" push origin feature/emptyenv
expect "async, empty ZADIG_HOOK_CONFIG: queued by zadig.config" 0 "" \
	"^$Z refs/heads/feature/emptyenv queued \(async\)"
long_rule "$T/async.yaml"
hrun git -C "$T/as" push origin "HEAD:refs/heads/$LONG"
expect "async: a ref of $((${#LONG} + 11)) bytes is queued" 0 "" \
	"^$Z refs/heads/$LONG queued \(async\)"
check "async: the poller delivers the long ref's trigger" \
	wait_note "$T/as.git" "refs/heads/$LONG" "^passed wf-long #[0-9]+ .*rule=long$"

# ---- v1.18+: no commitId lookup, so no times for a product task ----
# (Zadig's product task detail names none): its note has no duration=
new_repo v118 "$CFG"
fake_ctl POST config '{"generation":"v1.18"}' >/dev/null
hrun git -C "$T/v118" push origin main
expect "v1.18: push" 0 "" "^$Z dev: wf-dev #[0-9]+ created $U"
check "v1.18: the poller switches the lookup off" \
	wait_for_log "$T/v118.git" "has no commitId lookup"
check "v1.18: the note ends passed, without a duration" \
	wait_note "$T/v118.git" main "^passed wf-dev #[0-9]+ ${U}[^ ]+ tests=24/24 rule=dev$"
check "v1.18: its poller ends" wait_pollers 20 "$T/v118.git"
fake_ctl POST config '{"generation":"v1.15"}' >/dev/null

# ---- what config check calls an error a hook still runs past ----
# (the receiver's webhook.secret; a rule with nothing to build): earlier
# versions pushed with such a file, and an upgrade must not stop them
hook_config "$T/chk.yaml" "$FAKE_URL" sync 5s "webhook:
  public_url: http://127.0.0.1:9/h"
cat >>"$T/chk.yaml" <<'YAML'
  - name: nothing
    branches: ["nothing/*"]
    workflow: { name: wf-nothing, env: dev }
  - name: norepos
    branches: ["norepos/*"]
    workflow: { name: wf-norepos, env: dev, targets: [{ name: vote }] }
YAML
new_repo chk "$T/chk.yaml"
hrun git -C "$T/chk" push origin main
expect "config check's errors: the other rules run" 0 "" \
	"^$Z dev: wf-dev #[0-9]+ created"
hrun git -C "$T/chk" push origin main:nothing/a
expect "config check's errors: the rule with nothing to build says so" 0 "" \
	"^$Z nothing: product workflow request needs 'targets' or 'release_images'; not triggered"
# rules are independent (design §4.2): one whose request cannot be made
# keeps neither the other rules of its ref nor the push's other refs
sed -i 's|^    branches: \["nothing/\*"\]$|    branches: [main, "nothing/*"]|' "$T/chk.yaml"
commit "$T/chk" "both rules"
hrun git -C "$T/chk" push origin main main:nothing/b
expect "one rule's request cannot be made: the other rule runs" 0 "" \
	"^$Z dev: wf-dev #[0-9]+ created" \
	"^$Z nothing: product workflow request needs 'targets' or 'release_images'; not triggered"
check "... and it is said for both refs" \
	test "$(grep -c "^$Z nothing: product workflow request needs" "$T/err")" = 2
# a target without repos (the seed's build.repos is "must", which the
# real server may not hold to): sent as earlier versions sent it
# ("build":{"repos":[]}); what Zadig says of it is the push's line (this
# fake Zadig follows the seed, and refuses it)
n=$(creates wf-norepos)
hrun git -C "$T/chk" push origin main:norepos/a
expect "a target without repos: sent, Zadig's refusal shown" 0 "" \
	"^$Z norepos: rejected by zadig: .*targets\[0\]\.build\.repos is required"
check "a target without repos: sent" test "$(creates wf-norepos)" = "$((n + 1))"
run git zadig config check "$T/chk.yaml"
expect "config check says both" 2 "webhook.secret is required"
check "config check: the rule too" grep -q "rule 'nothing': workflow needs 'targets' or 'release_images'" "$T/out"
check "config check: the target without repos, a warning" grep -q "^git-zadig: warning: .*rules\[6\].workflow.targets\[0\] has no 'repos'" "$T/err"

hook_finish
