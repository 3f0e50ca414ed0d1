#!/bin/bash
# zadig-webhook against what a real GitLab sends beyond the plain cases of
# test_webhook.sh: merge requests from forks, GitLab's Test button, one
# X-Gitlab-Event-UUID on several events, a branch created without new
# commits, a push of 16,000 files, a force push from a commit the
# repository never had, fake Zadig behind it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

# ---- the repository GitLab would hold ----
W=$T/app
git init -q "$W"
mkdir -p "$W/src" "$W/docs"
echo a >"$W/src/app.c"
echo d >"$W/docs/guide.md"
git -C "$W" add -A && git -C "$W" commit -qm root
C1=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -qb feature
echo f >"$W/src/feature.c"
git -C "$W" add -A && git -C "$W" commit -qm "feature work"
C2=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -q main
git -C "$W" tag -a v1.0 -m release "$C1"
TAGOBJ=$(git -C "$W" rev-parse v1.0)
echo b >>"$W/src/app.c"
git -C "$W" commit -qam "after the release"
C3=$(git -C "$W" rev-parse HEAD)

CFG=$T/webhook.yaml
wh_config "$CFG" "  public_url: http://127.0.0.1:9
  repos:
    - project: g/app
      path: $W
rules:
  - name: mr
    repo: g/app
    branches: [main, \"release/*\"]
    events: [merge_request]
    workflow:
      name: wf-mr
      env: dev
      targets:
        - name: app
          repos: [app]
  - name: mr-forks
    repo: g/app
    branches: [\"release/*\"]
    events: [merge_request]
    forks: true
    workflow:
      name: wf-mr-forks
      env: \"dev-\${BRANCH}\"
      targets:
        - name: app
          repos: [app]
  - name: feature
    repo: g/app
    branches: [feature]
    paths: [\"src/**\"]
    workflow:
      name: wf-feature
      env: dev
      targets:
        - name: app
          repos: [app]
  - name: docs-main
    repo: g/app
    branches: [main]
    paths: [\"docs/**\"]
    workflow:
      name: wf-docs
      env: dev
      targets:
        - name: app
          repos: [app]
  - name: src-only
    repo: g/norepo
    branches: [\"feature-*\"]
    paths: [\"src/**\"]
    workflow:
      name: wf-src
      env: dev
      targets:
        - name: app
          repos: [app]
  - name: rel
    repo: \"g/*\"
    tags: [\"v*\"]
    events: [tag]
    workflow:
      name: wf-rel
      env: prod
      callback: true
      targets:
        - name: app
          repos: [app]"
wh_start "$CFG"
check "the receiver starts" test -n "$WH_PORT"

# ---- merge requests from forks ----
# mr_event FILE IID TARGET SOURCE-PROJECT-ID SOURCE-PATH: a merge request
# of g/app (project 14) opened from SOURCE-PATH's branch evil-branch
mr_event() {
	python3 - "$FIX/mr_open.json" "$@" "$C2" >"$1" <<'PY'
import json, sys
fix, out, iid, target, src_id, src_path, commit = sys.argv[1:]
d = json.load(open(fix))
d["project"]["path_with_namespace"] = "g/app"
a = d["object_attributes"]
a.update(iid=int(iid), source_branch="evil-branch", target_branch=target,
         source_project_id=int(src_id), target_project_id=14)
a["source"]["path_with_namespace"] = src_path
a["target"]["path_with_namespace"] = "g/app"
a["last_commit"]["id"] = commit
print(json.dumps(d))
PY
}
mr_event "$T/fork.json" 7 main 999 evil/app
gitlab "Merge Request Hook" "$T/fork.json" -H "Idempotency-Key: fork-1" >/dev/null
want "merge request from a fork: 202" 202 '"status":"accepted"'
check "merge request from a fork: ignored, logged with the fork's path" \
	wait_until 10 log_has "key=fork-1 project=g/app ref=evil/app:evil-branch rules=- result=ignored \(merge request from a fork: evil/app\)$"
sleep 0.5
check "merge request from a fork: nothing sent to Zadig" creates_are 0 '\"pr\":7'

# a rule with forks: true fires for it; the other one still does not
mr_event "$T/fork_rel.json" 8 release/1 999 evil/app
gitlab "Merge Request Hook" "$T/fork_rel.json" -H "Idempotency-Key: fork-2" >/dev/null
want "fork to release/1: 202" 202 '"status":"accepted"'
check "fork to release/1: only the rule with forks: true fires, the fork's branch named with the fork" \
	wait_until 10 log_has "key=fork-2 project=g/app ref=evil/app:evil-branch rules=mr-forks result=mr-forks:created"
check "fork to release/1: one create, pr=8" creates_are 1 '\"pr\":8'
# a branch named so in the project is another branch: Zadig is sent the
# target branch and the merge request's number, which it merges into it
check "... the build: the target branch with pr=8, not the fork's branch" \
	creates_are 1 '\"branch\":\"release/1\"' '\"pr\":8'
check "... \${BRANCH}: the target branch" creates_are 1 '\"pr\":8' '\"env_name\":\"dev-release/1\"'
check "... evil-branch named nowhere" creates_are 0 '\"pr\":8' 'evil-branch'

# the same merge request from the project itself fires as before
mr_event "$T/own.json" 9 main 14 g/app
gitlab "Merge Request Hook" "$T/own.json" -H "Idempotency-Key: own-1" >/dev/null
want "merge request of the project itself: 202" 202 '"status":"accepted"'
check "merge request of the project itself: mr fires" \
	wait_until 10 log_has "key=own-1 project=g/app ref=evil-branch rules=mr result=mr:created"
check "... the build: its source branch with pr=9" \
	creates_are 1 '\"branch\":\"evil-branch\"' '\"pr\":9'

# ---- GitLab's Test -> Tag push events ----
# Gitlab::DataBuilder::Push.build_sample: ref the newest tag, before and
# after the default branch's last commits, checkout_sha the tag's commit
# tag_event FILE PROJECT AFTER [COMMIT-IDS...]: a tag push of v1.0 (its
# commit C1) with after AFTER, listing the commits given
tag_event() {
	local file=$1 project=$2 after=$3 sep= id
	shift 3
	{
		printf '{"object_kind":"tag_push","event_name":"tag_push","before":"%s","after":"%s",' "$C1" "$after"
		printf '"ref":"refs/tags/v1.0","checkout_sha":"%s","user_name":"Admin",' "$C1"
		printf '"project":{"path_with_namespace":"%s"},"commits":[' "$project"
		for id in "$@"; do
			printf '%s{"id":"%s","message":"m","author":{"name":"A","email":"a@x"},"added":[],"modified":["src/app.c"],"removed":[]}' "$sep" "$id"
			sep=,
		done
		printf '],"total_commits_count":%d}' $#
	} >"$file"
}
tag_event "$T/tag_test.json" g/app "$C3" "$C3" "$C1"
gitlab "Tag Push Hook" "$T/tag_test.json" -H "Idempotency-Key: tag-test-1" >/dev/null
want "Test -> Tag push events: 202" 202 '"status":"accepted"'
check "Test -> Tag push events: not fired, logged as a sample event" \
	wait_until 10 log_has "key=tag-test-1 project=g/app ref=refs/tags/v1.0 rules=- result=ignored \(sample event: after ${C3:0:12} is not the tag's commit ${C1:0:12}"
# without a repository: after is a commit the payload lists, never so for
# a real push of a tag (after: the tag object, or the commit itself)
tag_event "$T/tag_test_norepo.json" g/norepo "$C3" "$C3" "$C1"
gitlab "Tag Push Hook" "$T/tag_test_norepo.json" -H "Idempotency-Key: tag-test-2" >/dev/null
check "Test -> Tag push events without a repository: not fired either" \
	wait_until 10 log_has "key=tag-test-2 project=g/norepo ref=refs/tags/v1.0 rules=- result=ignored \(sample event: after ${C3:0:12} is not the tag's commit ${C1:0:12}"
sleep 0.5
check "Test -> Tag push events: nothing sent to Zadig" creates_are 0 '\"workflow_name\":\"wf-rel\"'
# the real push of the annotated tag: after is the tag object
tag_event "$T/tag.json" g/app "$TAGOBJ" "$C1"
gitlab "Tag Push Hook" "$T/tag.json" -H "Idempotency-Key: tag-1" >/dev/null
check "a real tag push fires on the tag's commit" \
	wait_until 10 log_has "key=tag-1 project=g/app ref=refs/tags/v1.0 rules=rel result=rel:created"
check "... sent with the tag's commit" create_count_is 1 rel "$C1"
tag_event "$T/tag_norepo.json" g/norepo "$TAGOBJ" "$C1"
gitlab "Tag Push Hook" "$T/tag_norepo.json" -H "Idempotency-Key: tag-2" >/dev/null
check "a real tag push without a repository fires on checkout_sha" \
	wait_until 10 log_has "key=tag-2 project=g/norepo ref=refs/tags/v1.0 rules=rel result=rel:created.*\(degraded\)"
check "... sent with the tag's commit" create_count_is 2 rel "$C1"
# a lightweight tag: after is the commit
tag_event "$T/tag_light.json" g/norepo "$C1"
sed -i 's#refs/tags/v1.0#refs/tags/v1.0-light#' "$T/tag_light.json"
gitlab "Tag Push Hook" "$T/tag_light.json" -H "Idempotency-Key: tag-3" >/dev/null
check "a lightweight tag without a repository fires" \
	wait_until 10 log_has "key=tag-3 project=g/norepo ref=refs/tags/v1.0-light rules=rel result=rel:created"

# ---- one X-Gitlab-Event-UUID, several events ----
# GitLab gives every hook a request causes that request's UUID
# (RecursionDetection::UUID): a bot answering a webhook by pushing two
# branches sends two events with the same UUID, and before 17.4 no
# Idempotency-Key
git -C "$W" branch b1 "$C1"
git -C "$W" branch b2 "$C2"
for b in b1 b2; do
	printf '{"object_kind":"push","before":"%040d","after":"%s","ref":"refs/heads/%s","project":{"path_with_namespace":"g/app"},"commits":[],"total_commits_count":0}' \
		0 "$(git -C "$W" rev-parse $b)" $b >"$T/uuid_$b.json"
done
gitlab "Push Hook" "$T/uuid_b1.json" -H "X-Gitlab-Event-UUID: shared-uuid" >/dev/null
want "one UUID, first event: 202" 202 '"id":"shared-uuid:[0-9a-f]{16}","status":"accepted"'
K1=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$T/reply")
gitlab "Push Hook" "$T/uuid_b2.json" -H "X-Gitlab-Event-UUID: shared-uuid" >/dev/null
want "one UUID, another event: 202, not a duplicate" 202 '"id":"shared-uuid:[0-9a-f]{16}","status":"accepted"'
K2=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$T/reply")
check "one UUID, two events: two keys" test "$K1" != "$K2"
check "one UUID, two events: both read" \
	wait_until 10 bash -c "grep -q 'key=$K1 project=g/app ref=refs/heads/b1 ' '$T/wh.err' && grep -q 'key=$K2 project=g/app ref=refs/heads/b2 ' '$T/wh.err'"
gitlab "Push Hook" "$T/uuid_b2.json" -H "X-Gitlab-Event-UUID: shared-uuid" >/dev/null
want "one UUID, the same event again (Resend): duplicate" 200 '"status":"duplicate"'
check "... logged with its key" wait_until 5 log_has "key=$K2 result=duplicate"
# with Idempotency-Key (GitLab 17.4 on) that is the key, as it was
gitlab "Push Hook" "$T/uuid_b1.json" -H "X-Gitlab-Event-UUID: shared-uuid" -H "Idempotency-Key: idem-1" >/dev/null
want "Idempotency-Key is the key, whatever the UUID" 202 '"id":"idem-1","status":"accepted"'

# ---- a branch created without new commits, no repository ----
# "If you create and push a branch without any new commits, the commits
# attribute in the payload is empty": no path changed (with a repository:
# none since its merge base), where every path counted
sed -e 's#refs/heads/changes#refs/heads/feature-x#' \
	-e 's#eeshangarg/my-awesome-project#g/norepo#' \
	"$FIX/push_branch_create.json" >"$T/create.json"
gitlab "Push Hook" "$T/create.json" -H "Idempotency-Key: create-1" >/dev/null
want "branch created without new commits: 202" 202 '"status":"accepted"'
check "branch created without new commits: no paths rule fires" \
	wait_until 10 log_has "key=create-1 project=g/norepo ref=refs/heads/feature-x rules=- result=no rule matches \(degraded\)$"
# an update that lists no commit still counts every path
sed -e "s/\"before\":\"0\{40\}\"/\"before\":\"$C1\"/" \
	-e 's#feature-x#feature-y#' "$T/create.json" >"$T/update.json"
gitlab "Push Hook" "$T/update.json" -H "Idempotency-Key: update-1" >/dev/null
check "an update listing no commit: every path counts" \
	wait_until 10 log_has "key=update-1 project=g/norepo ref=refs/heads/feature-y rules=src-only result=src-only:created"
# and so does a new branch whose list was cut off (more than 20 commits)
python3 - "$T/create.json" >"$T/create_many.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["ref"] = "refs/heads/feature-z"
d["commits"] = [{"id": d["after"], "message": "m", "added": ["docs/a.md"]}]
d["total_commits_count"] = 25
print(json.dumps(d))
PY
gitlab "Push Hook" "$T/create_many.json" -H "Idempotency-Key: create-2" >/dev/null
check "a new branch of 25 commits, 1 listed: every path counts" \
	wait_until 10 log_has "key=create-2 project=g/norepo ref=refs/heads/feature-z rules=src-only result=src-only:created"

# ---- a push touching 16,000 files ----
# GitLab lists every path of every commit, uncapped: 1.3 MB, over the
# default webhook.max_body; the 413 says which limit, and raised, it fits
python3 - "$C1" "$C2" >"$T/big.json" <<'PY'
import json, sys
paths = ["vendor/github.com/example-organisation/some-module-%03d/internal/file%05d.go" % (i // 100, i)
         for i in range(16000)] + ["src/x.c"]
print(json.dumps({"object_kind": "push", "before": sys.argv[1],
                  "after": sys.argv[2], "ref": "refs/heads/feature-big",
                  "project": {"path_with_namespace": "g/norepo"},
                  "commits": [{"id": sys.argv[2], "message": "vendor",
                               "added": paths, "modified": [],
                               "removed": []}],
                  "total_commits_count": 1}))
PY
gitlab "Push Hook" "$T/big.json" -H "Idempotency-Key: big-1" >/dev/null
want "16,000 files, 1 MB: 413 naming the limit" 413 \
	'"error":"body larger than webhook.max_body \(1048576 bytes\)"'
sed -i 's#^  public_url: .*#&\n  max_body: 4MiB#' "$CFG"
kill -HUP "$WH_PID"
check "max_body raised: reloaded" wait_until 5 log_has "reloaded $CFG"
gitlab "Push Hook" "$T/big.json" -H "Idempotency-Key: big-1" >/dev/null
want "16,000 files, max_body 4MiB: 202" 202 '"status":"accepted"'
check "16,000 files: the paths rule fires on the one source file" \
	wait_until 20 log_has "key=big-1 project=g/norepo ref=refs/heads/feature-big rules=src-only result=src-only:created"

# ---- a before the repository never had ----
# a force push whose old tip never reached the repository (a mirror that
# did not fetch it): no waiting for it, the paths from the merge base
GONE=$(printf '%040x' 123456789)
{
	printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/feature",' "$GONE" "$C2"
	printf '"project":{"path_with_namespace":"g/app"},"user_name":"Pusher",'
	printf '"commits":[{"id":"%s","message":"payload message","added":["docs/only.md"]}],"total_commits_count":1}' "$C2"
} >"$T/force.json"
gitlab "Push Hook" "$T/force.json" -H "Idempotency-Key: force-1" >/dev/null
want "force push from an unknown commit: 202" 202 '"status":"accepted"'
check "force push from an unknown commit: fires at once, read from the repository" \
	wait_until 10 log_has "key=force-1 project=g/app ref=refs/heads/feature rules=feature result=feature:created#[0-9]+$"
check "... said why" log_has "key=force-1 before ${GONE:0:12} is not in the repository of g/app: changed paths from the merge base, as for a new branch"
check "... not retried" bash -c "! grep -q 'key=force-1 .*result=retry' '$T/wh.err'"
# to HEAD's own branch there is no merge base to read from: the payload's
# commits say what changed when it lists them all, else every path counts
# force_main FILE TOTAL: a force push to main from a commit the repository
# never had, listing C3 (changing src/app.c), of TOTAL commits
force_main() {
	{
		printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/main",' "$GONE" "$C3"
		printf '"project":{"path_with_namespace":"g/app"},"user_name":"Pusher",'
		printf '"commits":[{"id":"%s","message":"m","modified":["src/app.c"]}],"total_commits_count":%d}' "$C3" "$2"
	} >"$1"
}
force_main "$T/force_main.json" 1
gitlab "Push Hook" "$T/force_main.json" -H "Idempotency-Key: force-main-1" >/dev/null
want "force push to HEAD's branch from an unknown commit: 202" 202 '"status":"accepted"'
check "... the payload's paths: a docs/ rule does not fire" \
	wait_until 10 log_has "key=force-main-1 project=g/app ref=refs/heads/main rules=- result=no rule matches$"
check "... said why" log_has "key=force-main-1 before ${GONE:0:12} is not in the repository of g/app and refs/heads/main has no merge base with HEAD's branch: changed paths from the payload's 1 commit$"
force_main "$T/force_main_cut.json" 25
gitlab "Push Hook" "$T/force_main_cut.json" -H "Idempotency-Key: force-main-2" >/dev/null
check "... 1 of 25 commits listed: every path counts, the docs/ rule fires" \
	wait_until 10 log_has "key=force-main-2 project=g/app ref=refs/heads/main rules=docs-main result=docs-main:created"
check "... said why" log_has "key=force-main-2 before ${GONE:0:12} is not in the repository of g/app and refs/heads/main has no merge base with HEAD's branch: the payload lists 1 of 25 commits, every path counts as changed$"

wh_stop
check "stops cleanly" test "$WH_RC" = 0
check "the token is in no log line" bash -c "! grep -qF -- '$TOKEN' '$T/wh.err'"
finish
