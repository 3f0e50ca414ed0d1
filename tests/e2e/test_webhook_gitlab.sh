#!/bin/bash
# zadig-webhook against what a real GitLab sends beyond the plain cases of
# test_webhook.sh: merge requests from forks, fake Zadig behind it.
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
git -C "$W" add -A && git -C "$W" commit -qm root
C1=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -qb feature
echo f >"$W/src/feature.c"
git -C "$W" add -A && git -C "$W" commit -qm "feature work"
C2=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -q main

CFG=$T/webhook.yaml
wh_config "$CFG" "  repos:
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
      env: dev
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
	wait_until 10 log_has "key=fork-1 project=g/app ref=evil-branch rules=- result=ignored \(merge request from a fork: evil/app\)$"
sleep 0.5
check "merge request from a fork: nothing sent to Zadig" creates_are 0 '\"pr\":7'

# a rule with forks: true fires for it; the other one still does not
mr_event "$T/fork_rel.json" 8 release/1 999 evil/app
gitlab "Merge Request Hook" "$T/fork_rel.json" -H "Idempotency-Key: fork-2" >/dev/null
want "fork to release/1: 202" 202 '"status":"accepted"'
check "fork to release/1: only the rule with forks: true fires" \
	wait_until 10 log_has "key=fork-2 project=g/app ref=evil-branch rules=mr-forks result=mr-forks:created"
check "fork to release/1: one create, pr=8" creates_are 1 '\"pr\":8'

# the same merge request from the project itself fires as before
mr_event "$T/own.json" 9 main 14 g/app
gitlab "Merge Request Hook" "$T/own.json" -H "Idempotency-Key: own-1" >/dev/null
want "merge request of the project itself: 202" 202 '"status":"accepted"'
check "merge request of the project itself: mr fires" \
	wait_until 10 log_has "key=own-1 project=g/app ref=evil-branch rules=mr result=mr:created"

wh_stop
check "stops cleanly" test "$WH_RC" = 0
check "the token is in no log line" bash -c "! grep -qF -- '$TOKEN' '$T/wh.err'"
finish
