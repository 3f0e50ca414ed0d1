#!/bin/bash
# zadig-webhook reading a repository (webhook.repos[].path) its service
# user does not own: refused as git refuses it, and the log says why and
# how git lets it in, where it said "not a git repository".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

if [ "$(id -u)" != 0 ]; then
	echo "ok - skipped: making a repository another user's needs root"
	finish
fi
NOBODY=65534

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

# the repository, another user's
W=$T/voting-app
git init -q "$W"
mkdir -p "$W/src"
echo a >"$W/src/app.c"
git -C "$W" add -A && git -C "$W" commit -qm "root"
C1=$(git -C "$W" rev-parse HEAD)
echo b >>"$W/src/app.c"
git -C "$W" commit -qam "change the app"
C2=$(git -C "$W" rev-parse HEAD)
chown -R "$NOBODY:$NOBODY" "$W"

CFG=$T/webhook.yaml
wh_config "$CFG" "  listen: 127.0.0.1:8080
  workers: 2
  repos:
    - project: group/voting-app
      path: $W
rules:
  - name: dev
    repo: group/voting-app
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      targets:
        - name: vote
          repos: [voting-app]"

# push_event FILE: a push of main C1..C2 whose payload lists no commits
push_event() {
	{
		printf '{"object_kind":"push","before":"%s","after":"%s",' "$C1" "$C2"
		printf '"ref":"refs/heads/main","project":{"path_with_namespace":'
		printf '"group/voting-app"},"commits":[],"total_commits_count":2}'
	} >"$1"
}

wh_start "$CFG"
check "receiver listening" log_has "listening on 127\.0\.0\.1:$WH_PORT$"
push_event "$T/push.json"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: owned-1" >/dev/null
want "push: 202 accepted" 202
check "the log says whose repository it is and git's fix" \
	wait_until 10 log_has "key=owned-1 .*'$W' is owned by another user \(uid $NOBODY\); git refuses such a repository: git config --global --add safe.directory $W$"
check "never 'not a git repository'" \
	bash -c "! grep -q 'not a git repository' '$T/wh.err'"

# git's safe.directory = * lets it in, read at each event
git config --global --add safe.directory '*'
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: owned-2" >/dev/null
want "push after safe.directory = *: 202 accepted" 202
check "safe.directory = *: the repository is read, the rule fires" \
	wait_until 10 log_has "key=owned-2 .*rules=dev result=dev:created"
check "safe.directory = *: neither retried nor degraded" \
	bash -c "! grep -qE 'key=owned-2 .*(retry|degraded)' '$T/wh.err'"

wh_stop
finish
