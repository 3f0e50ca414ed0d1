#!/bin/bash
# git zadig explain / trigger on real repositories: which rules fire and the
# exact requests they send, and the notes of the tasks trigger created.
. "$(dirname "$0")/lib.sh"
# the poller trigger starts, stopped at exit
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
write_config "$CFG" "$FAKE_URL" '
poll: { interval: 200ms, max_interval: 1s }
webhook:
  public_url: http://127.0.0.1:9/hooks
  secret: cb-secret
rules:
  - name: dev
    repo: voting-app
    branches: [main, "release/*"]
    ignore_paths: ["docs/**", "*.md"]
    workflow:
      name: voting-workflow-dev
      env: dev
      project: voting
      targets:
        - name: vote
          repos: [voting-app]
        - name: result
          service_type: helm
          repos: [voting-app, "lib-${BRANCH}"]
      release_images:
        - { image: "r/vote:${SHORT_COMMIT}", service_name: vote, service_module: vote, replicas: 2, ratio: 0.25, tag: !!str 1.10 }
  - name: src-only
    repo: "voting-*"
    paths: ["src/**"]
    workflow:
      name: src-workflow
      env: qa
      callback: true
      targets:
        - name: vote
          repos: [voting-app]
  - name: images
    repo: voting-app
    branches: [main]
    custom_workflow:
      project: helm
      name: build-images
      inputs:
        - job_name: build
          job_type: zadig-build
          parameters:
            registry: https://registry.example.com
            who: "${AUTHOR} <${AUTHOR_EMAIL}>"
            typed: { s: !!str 5, t: !!str true, i: !!int "7", f: 2.5, e: 1e3, half: .5, one: 1., big: 12345678901234567890, hex: 0x1F, b: !!bool "false", n: !!null "", fi: !!float 7, q: "2.5", v: "${BRANCH}", sv: !!str "${BRANCH}" }
            service_list:
              - service_module: vote
                service_name: voting
                repo_info:
                  - { codehost_name: gitlab, repo_namespace: demo, repo_name: voting-app, branch: "${BRANCH}", commit: "${SHORT_COMMIT}" }
  - name: releases
    tags: ["v*"]
    events: [tag]
    workflow:
      name: release-workflow
      env: prod
      targets:
        - name: vote
          repos: [voting-app]
'
export ZADIG_HOOK_CONFIG=$CFG

run git zadig config check
expect "config check ok" 0 "^ok$"

W=$T/voting-app
git init -q "$W"
cd "$W"
mkdir -p src docs "dir with space"
echo a >src/app.c
echo readme >README.md
git add -A
git commit -qm "root commit"

run git zadig explain
expect "root commit on main: dev fires" 0 "dev +fires: workflow voting-workflow-dev"
check "root commit: every path counts" grep -q "no base" "$T/out"
check "root commit: src-only fires (src/app.c is new)" grep -qE "src-only +fires" "$T/out"
check "tag rule skips a push" grep -qE "releases +skip: +event push" "$T/out"

echo doc >docs/guide.txt
echo more >>README.md
git add -A
git commit -qm "docs only"
run git zadig explain
expect "docs-only commit" 0
check "dev skipped: every changed path is ignored" grep -qE "dev +skip: +every changed path is ignored" "$T/out"
check "src-only skipped: no changed path matches" grep -qE "src-only +skip: +no changed path matches" "$T/out"
check "images fires (no path filter)" grep -qE "images +fires" "$T/out"

echo b >"dir with space/naïve файл.c"
echo c >src/app.c
git add -A
git commit -qm "code change [SKIP CI]"
run git zadig explain
check "skip marker, any case" grep -qE "dev +skip: .*skip ci" "$T/out"
git commit -q --amend -m "code change"

# --before: the push as the hook saw it, not from the first parent
run git zadig explain --before HEAD~2
expect "explain --before: old -> new" 0 "at [0-9a-f]+ in voting-app: 4 changed paths$"
run git zadig explain --before 0 --ref refs/heads/topic
expect "explain --before 0: a new ref, from its merge base with HEAD's branch" 0 \
	"src-only +skip: +no changed path matches"
run git zadig explain --before no-such-rev
expect "explain --before: an unknown revision" 1 "" "unknown revision 'no-such-rev'"

run git zadig trigger --dry-run
expect "dry run" 0 "^POST /api/directory/workflowTask/create\?projectName=voting$"
check "dry run: custom workflow request" grep -q "^POST /openapi/workflows/custom/task$" "$T/out"
sc=$(git rev-parse --short=8 HEAD)
check "dry run: variables expanded at depth" grep -q "\"commit\": *\"$sc\"" "$T/out"
check "dry run: \${BRANCH} in a target repo" grep -q '"repo_name": *"lib-main"' "$T/out"
check "dry run: both custom name sets" grep -q '"workflow_key": *"build-images"' "$T/out"
check "dry run: callback url signed" grep -qE '"callback_url": *"http://127.0.0.1:9/hooks/callback/zadig\?k=[0-9a-f]+&s=[0-9a-f]{64}"' "$T/out"
fake_ctl GET requests >"$T/req.json"
check "dry run sends nothing" grep -qv workflowTask "$T/req.json"
# free-form values go as YAML's core schema reads them: explicit tags
# honoured, floats as JSON numbers with their own digits
for kv in '"s": "5"' '"t": "true"' '"i": 7' '"f": 2.5' '"e": 1e3' '"half": 0.5' \
	'"one": 1.0' '"big": 12345678901234567890' '"hex": 31' '"b": false' '"n": null' \
	'"fi": 7.0' '"q": "2.5"' '"v": "main"' '"sv": "main"' '"replicas": 2' '"ratio": 0.25' '"tag": "1.10"'; do
	check "dry run: free-form $kv" grep -qF "$kv" "$T/out"
done

# request bodies are UTF-8 JSON whatever the commit's bytes: an
# ISO-8859-1 commit (its encoding header says so) is read as git log
# reads it; a byte that is not UTF-8 in a commit without one goes as
# U+FFFD (its bytes went to Zadig as they were)
git -c i18n.commitEncoding=ISO-8859-1 commit -q --allow-empty \
	--author="$(printf 'Jos\xe9 <j\xe9@x>')" -m "$(printf 'caf\xe9')"
run git zadig trigger --dry-run --rule images
expect "latin1 commit: dry run" 0
check "latin1 commit: the author re-encoded to UTF-8" \
	grep -qF '"who": "José <jé@x>"' "$T/out"
check "latin1 commit: the whole output is UTF-8" iconv -f UTF-8 -t UTF-8 "$T/out" -o /dev/null
# (git commit would take the bytes for Latin-1 and write UTF-8)
printf 'tree %s\nparent %s\nauthor Jos\xe9 <j@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n\ncaf\xe9\n' \
	"$(git rev-parse HEAD^{tree})" "$(git rev-parse HEAD~1)" >"$T/raw-commit"
git update-ref HEAD "$(git hash-object -t commit -w "$T/raw-commit")"
run git zadig trigger --dry-run --rule images
check "not UTF-8 in a commit without an encoding: U+FFFD" \
	grep -qF '"who": "Jos\ufffd <j@x>"' "$T/out"
check "not UTF-8: the whole output is UTF-8" iconv -f UTF-8 -t UTF-8 "$T/out" -o /dev/null
git reset -q --hard HEAD~1

run git zadig trigger --rule dev
expect "trigger one rule" 0 "^dev: voting-workflow-dev #1 created http://127.0.0.1:$FAKE_PORT/"
run git zadig trigger
expect "trigger all rules" 0 "^images: build-images #1 created"
check "trigger: three rules sent" test "$(grep -c ' created ' "$T/out")" = 3
fake_ctl GET requests >"$T/req.json"
check "fake got product body with branch and pr" grep -q '\\"branch\\": *\\"main\\"' "$T/req.json"
c=$(git rev-parse HEAD)
check "trigger in a clone: its note, polled to the end" \
	wait_note "$W/.git" "$c" "^passed voting-workflow-dev #2 .*rule=dev$"
check "trigger: every task it created is noted" \
	wait_note "$W/.git" "$c" "^passed build-images #1 .*kind=custom rule=images$"
check "trigger: four lines" test "$(note "$W/.git" "$c" | wc -l)" = 4
check "trigger: the poller ends" wait_pollers 20
run git zadig trigger --rule nope
expect "unknown rule" 2 "" "no rule named 'nope'"

# a failed request: its rule's error, once; the summary only after several
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","status":400,"body":"{\"code\":6540,\"message\":\"env dev is busy\"}","times":1}' >/dev/null
run git zadig trigger --rule dev
expect "trigger --rule: a refused request" 1 "" "^git-zadig: error: dev: zadig 6540: env dev is busy$"
check "trigger --rule: one error line, no summary" test "$(wc -l <"$T/err")" = 1
fake_ctl POST fault '{"method":"POST","path":"/","status":400,"body":"{\"code\":6540,\"message\":\"busy\"}","times":3}' >/dev/null
run git zadig trigger
expect "trigger: every request refused" 1 "" "^git-zadig: error: some triggers failed$"
check "trigger: each rule's error" test "$(grep -c ': zadig 6540: busy$' "$T/err")" = 3
fake_ctl POST fault '{"method":"POST","path":"/","status":400,"body":"{\"code\":6540,\"message\":\"busy\"}","times":1}' >/dev/null
run git zadig trigger
expect "trigger: one of three refused" 1 "created" "^git-zadig: error: some triggers failed$"
check "trigger: one of three refused, its error" test "$(grep -c ': zadig 6540: busy$' "$T/err")" = 1

# a new branch: diff from the merge base with main
git checkout -q -b release/1.0
echo d >src/new.c
git add -A
git commit -qm "release work"
run git zadig explain
expect "branch release/1.0" 0 "refs/heads/release/1.0 at"
check "release/* matches" grep -qE "dev +fires" "$T/out"
check "images only on main" grep -qE "images +skip: +branch 'release/1.0' matches none of main" "$T/out"

# a merge commit: changes from the first parent
git checkout -q main
git merge -q --no-ff -m "merge release" release/1.0
run git zadig explain
check "merge commit: src/new.c came in" grep -qE "src-only +fires" "$T/out"

# a tag
git tag -a v1.0 -m "v1.0"
run git zadig explain v1.0 --ref refs/tags/v1.0
expect "tag event" 0
check "tag rule fires" grep -qE "releases +fires" "$T/out"
check "push rules skip a tag" grep -qE "dev +skip: +event tag" "$T/out"
run git zadig explain nosuchrev
expect "unknown revision" 1 "" "unknown revision 'nosuchrev'"

# detached HEAD needs --ref
git checkout -q --detach HEAD
run git zadig explain
expect "detached HEAD without --ref: a usage error" 2 "" "^git-zadig: error: HEAD is detached; name the ref with --ref$"
run git zadig explain --ref main
expect "detached HEAD with --ref" 0 "refs/heads/main"
git checkout -q main

# 10,000 commits of history: trigger still reads one diff
for i in $(seq 10000); do
	printf 'commit refs/heads/long\nmark :%d\ncommitter T <t@e> %d +0000\ndata 5\nc%04d\n' $i $((1700000000 + i)) $((i % 10000))
	[ $i -gt 1 ] && printf 'from :%d\n' $((i - 1))
	printf 'M 644 inline src/f%d.txt\ndata %d\n%d\n\n' $((i % 500)) $((${#i} + 1)) $i
done >"$T/long.fi"
git fast-import --quiet <"$T/long.fi"
run git zadig explain long --ref refs/heads/main
expect "10,000-commit history" 0 "1 changed path"

# a shallow clone: the tip's parent is not there, so every path counts
git clone -q --depth 1 "file://$W" "$T/shallow/voting-app" 2>/dev/null
run_in "$T/shallow/voting-app" git zadig explain
expect "shallow clone: explain" 0 "no base: every path counts"
check "shallow clone: src-only fires" grep -qE "src-only +fires" "$T/out"
run_in "$T/shallow/voting-app" git zadig trigger --dry-run
expect "shallow clone: trigger --dry-run" 0 "^POST /api/directory/workflowTask/create"

# zadig.config as git path values are read: "~/" and relative (from the
# top of the work tree, wherever git zadig runs in it)
unset ZADIG_HOOK_CONFIG
cp "$CFG" "$W/.zadig.yaml"
git -C "$W" config zadig.config .zadig.yaml
mkdir -p "$W/src/deep"
run_in "$W/src/deep" git zadig explain
expect "relative zadig.config, run in a subdirectory" 0 "dev +(fires|skip)"
git -C "$W" config --unset zadig.config
cp "$CFG" "$HOME/zadig.yaml"
git config --global zadig.config '~/zadig.yaml'
run_in "$W/src/deep" git zadig explain
expect "zadig.config '~/zadig.yaml'" 0 "dev +(fires|skip)"
git config --global --unset zadig.config
rm -f "$W/.zadig.yaml"
export ZADIG_HOOK_CONFIG=$CFG

# --repo: a clone named as the server names it (hook.repo_root there)
write_config "$T/grouped.yaml" "$FAKE_URL" '
rules:
  - name: grouped
    repo: group/voting-app
    workflow: { name: wf-grouped, env: dev, targets: [{ name: t, repos: ["${REPO}"] }] }
'
run git zadig explain --config "$T/grouped.yaml"
expect "explain in a clone: the repo glob does not match its name" 0 "grouped +skip: +repo 'voting-app' does not match"
run git zadig explain --config "$T/grouped.yaml" --repo group/voting-app
expect "explain --repo" 0 "grouped +fires"
run git zadig trigger --dry-run --config "$T/grouped.yaml" --repo group/voting-app
expect "trigger --dry-run --repo: \${REPO} is the name given" 0 '"group/voting-app"'
run git zadig status --repo x
expect "status does not take --repo" 2 "" "'status' does not take --repo"

# 200 rules
{
	printf 'zadig:\n  url: %s\n  token: ${ZADIG_TOKEN}\nrules:\n' "$FAKE_URL"
	for i in $(seq 200); do
		printf '  - name: r%d\n    branches: ["b%d/*"]\n    workflow: { name: w%d, env: dev, targets: [{ name: t, repos: [x] }] }\n' $i $i $i
	done
} >"$T/many.yaml"
git checkout -q -b b150/x
run git zadig explain --config "$T/many.yaml"
expect "200 rules: one fires" 0 "r150 +fires"
check "200 rules: 199 skip" test "$(grep -c 'skip:' "$T/out")" = 199

finish
