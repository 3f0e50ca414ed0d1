#!/bin/bash
# zadig-webhook end to end: every reply of design.md §6, real GitLab
# payloads adjusted to a real repository, fake Zadig behind it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start --steps 2
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
ZT="zt-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
SK="whsec_$(head -c 32 /dev/urandom | base64)"
export GL_SECRET ZT SK
ZERO=0000000000000000000000000000000000000000

# ---- the repository GitLab would hold ----
W=$T/voting-app
git init -q "$W"
mkdir -p "$W/src" "$W/docs"
echo a >"$W/src/app.c"
git -C "$W" add -A && git -C "$W" commit -qm "root"
C1=$(git -C "$W" rev-parse HEAD)
echo b >>"$W/src/app.c"
git -C "$W" commit -qam "change the app"
C2=$(git -C "$W" rev-parse HEAD)
git -C "$W" tag -a v1.0 -m "release" "$C2"
TAGOBJ=$(git -C "$W" rev-parse v1.0)
git -C "$W" checkout -qb feature "$C1"
echo f >"$W/src/feature.c"
git -C "$W" add -A && git -C "$W" commit -qm "feature work"
C3=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -qb many "$C2"
echo x >"$W/src/x.c"
git -C "$W" add -A && git -C "$W" commit -qm "many 1 touches src"
for i in $(seq 2 25); do
	echo "$i" >"$W/docs/d$i.md"
	git -C "$W" add -A && git -C "$W" commit -qm "many $i docs"
done
MANY=$(git -C "$W" rev-parse HEAD)
git -C "$W" checkout -q main
echo c >>"$W/src/app.c"
git -C "$W" commit -qam "system hook commit"
C4=$(git -C "$W" rev-parse HEAD)

# ---- config ----
CFG=$T/webhook.yaml
rules() {
	cat <<'YAML'
rules:
  - name: dev
    repo: group/voting-app
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      callback: true
      targets:
        - name: vote
          repos: [voting-app]
  - name: src-only
    repo: group/voting-app
    branches: [many]
    paths: ["src/**"]
    workflow:
      name: wf-src
      env: dev
      callback: true
      targets:
        - name: vote
          repos: [voting-app]
  - name: mr
    repo: group/voting-app
    branches: [main, "release/*"]
    events: [merge_request]
    workflow:
      name: wf-mr
      env: dev
      callback: true
      targets:
        - name: vote
          repos: [voting-app]
  - name: rel
    repo: group/voting-app
    tags: ["v*"]
    events: [tag]
    workflow:
      name: wf-rel
      env: prod
      callback: true
      targets:
        - name: vote
          repos: [voting-app]
  - name: mirrored
    repo: group/mirrored
    branches: [main]
    paths: ["src/**"]
    workflow:
      name: wf-mirrored
      env: dev
      targets:
        - name: vote
          repos: [voting-app]
  - name: other
    repo: "other/*"
    paths: ["lib/**"]
    workflow:
      name: wf-other
      env: dev
      callback: true
      targets:
        - name: lib
          repos: [lib]
YAML
}
# write_wh_config PUBLIC_URL [EXTRA-WEBHOOK-YAML]
write_wh_config() {
	write_config "$CFG" "$FAKE_URL" "state_dir: $T/state
poll:
  interval: 200ms
  max_interval: 400ms
webhook:
  listen: 127.0.0.1:8080
  secret: \${GL_SECRET}
  public_url: $1
  max_body: 64KiB
  workers: 3
${2:-}
  repos:
    - project: group/voting-app
      path: $W
    - project: group/mirrored
      url: $T/remote.git
    - project: group/gone
      url: $T/gone.git
$(rules)"
}
write_wh_config http://127.0.0.1:9

# ---- usage and config errors ----
run zadig-webhook --version
expect "--version" 0 "^zadig-webhook \(zadig-hook\) [0-9]"
run zadig-webhook --help
expect "--help" 0 "--config FILE"
run zadig-webhook --frobnicate
expect "unknown option: exit 2" 2 "" "^zadig-webhook: error: unknown argument '--frobnicate'"
run zadig-webhook --config "$T/nope.yaml"
expect "missing config: exit 2" 2 "" "^zadig-webhook: .*nope.yaml"
# no --config, no $ZADIG_HOOK_CONFIG: /etc/zadig-hook/config.yaml, as for
# the other programs (design §3); the error names where it looked
if [ ! -e /etc/zadig-hook/config.yaml ]; then
	ZADIG_HOOK_CONFIG= run zadig-webhook --listen 127.0.0.1:0
	expect "no config anywhere: exit 2, /etc named" 2 "" "/etc/zadig-hook/config\.yaml"
fi
printf 'zadig:\n  url: ftp://x\n  token: t\nwebhook:\n  bogus: 1\n' >"$T/bad.yaml"
run zadig-webhook --config "$T/bad.yaml"
expect "bad config: every error, exit 2" 2 "" "bad.yaml:2:.*"
check "bad config: unknown key reported too" grep -q "bad.yaml:5:" "$T/err"
printf 'zadig:\n  url: http://x\n  token: t\n' >"$T/nosecret.yaml"
run zadig-webhook --config "$T/nosecret.yaml"
expect "no webhook.secret: exit 2" 2 "" "webhook.secret is required"
printf 'zadig:\n  url: http://x\n  token: t\nwebhook:\n  secret: ${ZH_EMPTY_SECRET}\n' >"$T/emptysecret.yaml"
ZH_EMPTY_SECRET= run zadig-webhook --config "$T/emptysecret.yaml"
expect "an empty webhook.secret: exit 2" 2 "" "webhook.secret is required .*and may not be empty"
printf 'zadig:\n  url: http://x\n  token: t\nwebhook:\n  secret: s\n  zadig_token: ""\n' >"$T/emptyzt.yaml"
run zadig-webhook --config "$T/emptyzt.yaml"
expect "an empty webhook.zadig_token: exit 2" 2 "" "webhook.zadig_token is empty"

# ---- start; learn the port; point public_url at it with SIGHUP ----
wh_start "$CFG"
check "listening line" log_has "^zadig-webhook: listening on 127\.0\.0\.1:$WH_PORT$"
# the first line is the listening line: libmicrohttpd has nothing to warn
# about (it did, below 4 cores, of a thread pool of one)
check "nothing before the listening line" bash -c "head -n1 '$T/wh.err' | grep -q '^zadig-webhook: listening on '"
write_wh_config "$WH_URL"
kill -HUP "$WH_PID"
check "SIGHUP with a good config reloads" wait_until 5 log_has "reloaded $CFG"

run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "healthz 200" 0 "^200$"
run curl -s -o /dev/null -w '%{http_code}' -I "$WH_URL/healthz"
expect "healthz HEAD 200" 0 "^200$"
# while another process holds the store's write lock, /healthz waits for
# it (and says 200 once it gets it) without holding up other requests
sqlite3 -cmd ".timeout 5000" "$T/state/state.db" "BEGIN IMMEDIATE;" ".shell sleep 3" "ROLLBACK;" &
lockp=$!
sleep 0.5
curl -s -o "$T/hz" -w '%{http_code}' --max-time 10 "$WH_URL/healthz" >"$T/hz.code" &
hzp=$!
sleep 0.3
run curl -s -o /dev/null -w '%{time_total}' -X POST -H "X-Gitlab-Token: wrong" -d '{}' "$WH_URL/webhook/gitlab"
check "healthz waiting for the store holds up no other request (${OUT}s)" \
	awk -v t="$OUT" 'BEGIN { exit !(t < 1.5) }'
wait "$hzp" "$lockp"
check "healthz answers once the store is free" test "$(cat "$T/hz.code")" = 200
run curl -s "$WH_URL/nope"
expect "unknown path: 404 JSON" 0 '"error"'

# ---- refusals ----
sed -e "s/95790bf891e76fee5e1747ab589903a6a1f80f22/$C1/" \
	-e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$C2/g" \
	-e "s#mike/diaspora#group/voting-app#" \
	-e "s#refs/heads/master#refs/heads/main#" "$FIX/push.json" >"$T/push.json"

post /webhook/gitlab "$T/push.json" -H "X-Gitlab-Token: wrong" -H "X-Gitlab-Event: Push Hook" >/dev/null
want "wrong token: 401" 401 '"error"'
post /webhook/gitlab "$T/push.json" -H "X-Gitlab-Event: Push Hook" >/dev/null
want "missing token: 401" 401 '"error"'
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
gitlab "Push Hook" "$T/big.json" >/dev/null
want "Content-Length over max_body: 413" 413
gitlab "Push Hook" "$T/big.json" -H "Transfer-Encoding: chunked" >/dev/null
want "chunked body over max_body: 413" 413
# an oversized body within 1 MiB past max_body is read to its end before
# the 413 (a sender still writing would get a reset rather than the
# answer): the connection then serves the next request
kept() { # kept [CURL-OPTION...]: "<code> <code> <connections>"
	curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' \
		-H "X-Gitlab-Token: $GL_SECRET" -H "X-Gitlab-Event: Push Hook" \
		"$@" --data-binary @"$T/big.json" "$WH_URL/webhook/gitlab" \
		--next -o /dev/null -w '%{http_code} %{num_connects}\n' \
		"$WH_URL/healthz" | tr '\n' ' '
}
run kept
expect "over max_body: 413 after reading the body, connection kept" 0 \
	"^413 1 200 0 $"
run kept -H "Transfer-Encoding: chunked"
expect "chunked over max_body: 413 after reading it, connection kept" 0 \
	"^413 1 200 0 $"
# far past it: answered at once, nothing more read
head -c 3000000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
# (curl may see the 413 or, still sending, a reset: 55 or 56)
run curl -s -o /dev/null -w '%{http_code}' -H "X-Gitlab-Token: $GL_SECRET" \
	-H "X-Gitlab-Event: Push Hook" -H "Expect:" \
	--data-binary @"$T/huge.json" "$WH_URL/webhook/gitlab"
check "3 MB body, max_body 64KiB: 413 at once ($RC $(cat "$T/out"))" \
	bash -c "[ '$RC $(cat "$T/out")' = '0 413' ] || [ '$RC' = 55 ] || [ '$RC' = 56 ]"
check "and the receiver serves on" test "$(curl -s "$WH_URL/healthz")" = ok
# request headers live in libmicrohttpd's per-connection memory (16 KiB,
# webhook/server.c): 12 KB of them fit (GitLab sends about 1 KB), far
# more is a 431 and the receiver serves on (a project no rule names)
sed "s#mike/diaspora#nobody/none#g" "$FIX/push.json" >"$T/other.json"
gitlab "Push Hook" "$T/other.json" -H "X-Gitlab-Event-UUID: big-headers" \
	-H "X-Pad: $(head -c 12000 /dev/zero | tr '\0' a)" >/dev/null
want "12 KB of request headers: accepted" 202 '"accepted"'
gitlab "Push Hook" "$T/other.json" -H "X-Gitlab-Event-UUID: huge-headers" \
	-H "X-Pad: $(head -c 40000 /dev/zero | tr '\0' a)" >/dev/null
want "40 KB of request headers: 431" 431
check "and the receiver serves on after them" \
	test "$(curl -s "$WH_URL/healthz")" = ok
printf '{"object_kind": "push", ' >"$T/badjson.json"
gitlab "Push Hook" "$T/badjson.json" >/dev/null
want "invalid JSON: 400 with a JSON error" 400 '^\{"error":"body is not JSON'
printf '{"object_kind":"push","project":{"path_with_namespace":"group/voting-app"}}' >"$T/noref.json"
gitlab "Push Hook" "$T/noref.json" >/dev/null
want "missing field: 400 naming it" 400 "missing field 'ref'"
# a commit id that is not one (it fired rules, went to Zadig as the
# commit, and its note was retried every poll round forever): refused
# before anything is stored, the key free for a good delivery
printf '{"object_kind":"push","before":"%s","after":"yy","ref":"refs/heads/main","project":{"path_with_namespace":"group/voting-app"},"commits":[]}' "$C1" >"$T/badafter.json"
gitlab "Push Hook" "$T/badafter.json" -H "Idempotency-Key: bad-after" >/dev/null
want "after not a commit id: 400 naming it" 400 "^\\{\"error\":\"field 'after' is not a commit id"
sed -e 's/"after":"yy"/"after":"'"$C2"'"/' -e 's/"commits":\[\]/"commits":[{"id":"c2"}]/' \
	"$T/badafter.json" >"$T/badid.json"
gitlab "Push Hook" "$T/badid.json" -H "Idempotency-Key: bad-after" >/dev/null
want "commits[].id not a commit id: 400 naming it" 400 "field 'commits\\[\\]\\.id' is not a commit id"
sed -e "s/\"id\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"/\"id\": \"da15\"/" \
	"$FIX/mr_open.json" >"$T/badmr.json"
gitlab "Merge Request Hook" "$T/badmr.json" -H "Idempotency-Key: bad-after" >/dev/null
want "merge request last_commit.id not a commit id: 400" 400 "field 'object_attributes\\.last_commit\\.id' is not a commit id"
gitlab "Push Hook" "$T/other.json" -H "Idempotency-Key: bad-after" >/dev/null
want "refused deliveries stored nothing: their key is free" 202 '"id":"bad-after","status":"accepted"'
# \u0000 in a string kept was read cut there (refs/heads/ma\u0000in as
# refs/heads/ma)
sed -e 's#"ref":"refs/heads/main"#"ref":"refs/heads/ma\\u0000in"#' -e "s/\"yy\"/\"$C2\"/" \
	"$T/badafter.json" >"$T/nul.json"
gitlab "Push Hook" "$T/nul.json" -H "Idempotency-Key: nul-ref" >/dev/null
want "\\u0000 in ref: 400 naming it" 400 "field 'ref' contains a NUL character"
gitlab "Note Hook" "$T/push.json" -H "Idempotency-Key: note-1" >/dev/null
want "Note Hook: 202 ignored" 202 '"status":"ignored"'
printf '{"object_kind":"repository_update","event_name":"repository_update"}' >"$T/sys_other.json"
gitlab "System Hook" "$T/sys_other.json" >/dev/null
want "system hook of another kind: 202 ignored" 202 '"status":"ignored"'
# GitLab's system hook events other than pushes and merge requests
# (project_create, user_create, repository_update, ...) have event_name and
# no object_kind: ignored and counted so, not 400 bad_json
IGN=$(metric zadig_webhook_events_ignored_total)
BAD=$(metric 'zadig_webhook_events_rejected_total{reason="bad_json"}')
for ev in '{"event_name":"project_create","created_at":"2012-07-21T07:30:54Z","name":"StoreCloud","path":"storecloud","path_with_namespace":"jsmith/storecloud","project_id":74,"project_visibility":"private","owner_name":"John Smith","owner_email":"johnsmith@example.com"}' \
	'{"event_name":"user_create","created_at":"2012-07-21T07:44:07Z","email":"js@gitlabhq.com","name":"John Smith","username":"js","user_id":41}' \
	'{"event_name":"repository_update","user_id":1,"project_id":1,"changes":[],"refs":["refs/heads/master"]}'; do
	printf '%s' "$ev" >"$T/sys_event.json"
	gitlab "System Hook" "$T/sys_event.json" >/dev/null
	want "system hook $(sed 's/^{"event_name":"\([a-z_]*\)".*/\1/' "$T/sys_event.json"): 202 ignored" 202 '^\{"status":"ignored"\}$'
done
check "system hook events without object_kind: counted as ignored" \
	[ "$(metric zadig_webhook_events_ignored_total)" = "$((IGN + 3))" ]
check "system hook events without object_kind: not counted as bad_json" \
	[ "$(metric 'zadig_webhook_events_rejected_total{reason="bad_json"}')" = "$BAD" ]
printf '{"name":"x"}' >"$T/sys_none.json"
gitlab "System Hook" "$T/sys_none.json" >/dev/null
want "neither object_kind nor event_name: 400" 400 "missing field 'object_kind'"

# ---- push: accepted, triggers once; redelivery is a duplicate ----
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: push-1" >/dev/null
want "push: 202 accepted with the key" 202 '^\{"id":"push-1","status":"accepted"\}$'
check "push: dev fires on the pushed commit" wait_until 10 create_count_is 1 dev "$C2"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: push-1" >/dev/null
want "redelivery: 200 duplicate" 200 '"status":"duplicate"'
# a different delivery of the same push (GitLab "Resend" predating
# Idempotency-Key): a new event, but the trigger is known
gitlab "Push Hook" "$T/push.json" -H "X-Gitlab-Event-UUID: uuid-push-1" >/dev/null
want "X-Gitlab-Event-UUID and a hash of the body are the key without Idempotency-Key" 202 '"id":"uuid-push-1:[0-9a-f]{16}"'
gitlab "Push Hook" "$T/push.json" -H "X-Gitlab-Event-UUID: uuid-push-1" >/dev/null
want "X-Gitlab-Event-UUID redelivery: duplicate" 200 '"status":"duplicate"'
check "log line per event" wait_until 5 log_has "key=uuid-push-1:[0-9a-f]{16} project=group/voting-app ref=refs/heads/main rules=dev result=dev:known"
# (created by this event's worker, or "done" when the periodic round of
# another worker took the just-recorded trigger first)
check "log line names rules and result" log_has "key=push-1 project=group/voting-app ref=refs/heads/main rules=dev result=dev:(created#[0-9]+|done)"
sleep 0.3
check "redeliveries triggered nothing more" create_count_is 1 dev "$C2"
check "push: fake Zadig called the receiver back (200)" \
	wait_until 10 bash -c "curl -s '$FAKE_URL/__fake/requests' | grep -A8 '\"direction\": \"out\"' | grep -q '\"status\": 200'"
check "push: the note shows the final status" \
	wait_until 10 bash -c "git -C '$W' notes --ref=zadig show '$C2' 2>/dev/null | grep -q '^passed wf-dev #1 '"

# ---- tag push (annotated tag: after is the tag object) ----
sed -e "s/82b3d5ae55f7080f1e6022629cdb57bfae7cccc7/$C2/" \
	-e "s/\"after\": \"$C2\"/\"after\": \"$TAGOBJ\"/" \
	-e "s#jsmith/example#group/voting-app#" -e "s#v1.0.0#v1.0#" \
	"$FIX/tag_push.json" >"$T/tag.json"
gitlab "Tag Push Hook" "$T/tag.json" -H "Idempotency-Key: tag-1" >/dev/null
want "tag push: 202" 202 '"status":"accepted"'
check "tag push: rel fires on the tagged commit" wait_until 10 create_count_is 1 rel "$C2"
check "tag push: ref is the tag" creates_are 1 '\"ref\":\"refs/tags/v1.0\"'

# ---- merge request ----
sed -e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$C3/g" \
	-e "s#gitlabhq/gitlab-test#group/voting-app#" \
	-e 's/"iid": 1,/"iid": 7,/' -e 's/"source_branch": "ms-viewport"/"source_branch": "feature"/' \
	-e 's/"target_branch": "master"/"target_branch": "main"/' "$FIX/mr_open.json" >"$T/mr.json"
gitlab "Merge Request Hook" "$T/mr.json" -H "Idempotency-Key: mr-1" >/dev/null
want "merge request open: 202" 202 '"status":"accepted"'
check "merge request: mr fires on last_commit" wait_until 10 create_count_is 1 mr "$C3"
check "merge request: build uses the source branch and pr=iid" \
	creates_are 1 '\"rule\":\"mr\"' '\"branch\":\"feature\"' '\"pr\":7'
check "merge request: the trigger's ref is the merge request's" \
	creates_are 1 '\"rule\":\"mr\"' '\"ref\":\"refs/merge-requests/7/head\"'
# another merge request of the same source commit, to another target: a
# trigger of its own (pr=8), not "known" as the first one's
sed -e 's/"iid": 7,/"iid": 8,/' -e 's/"target_branch": "main"/"target_branch": "release\/1"/' \
	"$T/mr.json" >"$T/mr8.json"
gitlab "Merge Request Hook" "$T/mr8.json" -H "Idempotency-Key: mr-8" >/dev/null
want "second merge request of one commit: 202" 202 '"status":"accepted"'
check "second merge request of one commit fires too" wait_until 10 create_count_is 2 mr "$C3"
check "second merge request: pr=8, its target branch" \
	creates_are 1 '\"rule\":\"mr\"' '\"pr\":8' '\"ref\":\"refs/merge-requests/8/head\"'
sed -e 's/"action": "open"/"action": "update"/' "$T/mr.json" >"$T/mr_update.json"
gitlab "Merge Request Hook" "$T/mr_update.json" -H "Idempotency-Key: mr-2" >/dev/null
want "merge request update without oldrev: 202" 202
sed -e 's/"action": "open"/"action": "close"/' "$T/mr.json" >"$T/mr_close.json"
gitlab "Merge Request Hook" "$T/mr_close.json" -H "Idempotency-Key: mr-3" >/dev/null
check "merge request update without oldrev and close fire nothing" \
	wait_until 5 bash -c "grep -q 'key=mr-2 .*result=ignored' '$T/wh.err' && grep -q 'key=mr-3 .*result=ignored' '$T/wh.err'"

# ---- system hook carrying a push ----
sed -e "s/$C1/$C2/" -e "s/$C2\"/$C4\"/g" "$T/push.json" >"$T/sys_push.json"
sed -i -e "s/\"before\": \"$C4\"/\"before\": \"$C2\"/" "$T/sys_push.json"
gitlab "System Hook" "$T/sys_push.json" -H "Idempotency-Key: sys-1" >/dev/null
want "system hook push: 202" 202 '"status":"accepted"'
check "system hook push: dev fires" wait_until 10 create_count_is 1 dev "$C4"

# ---- more than 20 commits: the list is truncated, the repo is read ----
{
	printf '{"object_kind":"push","event_name":"push","before":"%s","after":"%s",' "$C2" "$MANY"
	printf '"ref":"refs/heads/many","checkout_sha":"%s","user_name":"E2E",' "$MANY"
	printf '"project":{"path_with_namespace":"group/voting-app"},"commits":['
	sep=
	for id in $(git -C "$W" rev-list --reverse -20 "$MANY"); do
		printf '%s{"id":"%s","message":"docs","author":{"name":"E2E","email":"e@x"},"added":["docs/d.md"],"modified":[],"removed":[]}' "$sep" "$id"
		sep=,
	done
	printf '],"total_commits_count":25}'
} >"$T/many.json"
gitlab "Push Hook" "$T/many.json" -H "Idempotency-Key: many-1" >/dev/null
want "push of 25 commits: 202" 202
check "push of 25 commits: src/x.c of commit 1 (not listed) fires src-only" \
	wait_until 10 create_count_is 1 src-only "$MANY"

# ---- a project read from a mirror (webhook.repos[].url) ----
git clone -q --bare "$W" "$T/remote.git"
{
	printf '{"object_kind":"push","before":"%s","after":"%s","ref":"refs/heads/main",' "$C1" "$C2"
	printf '"project":{"path_with_namespace":"group/mirrored"},"commits":[],"total_commits_count":30}'
} >"$T/mirrored.json"
gitlab "Push Hook" "$T/mirrored.json" -H "Idempotency-Key: mirror-1" >/dev/null
want "mirrored project: 202" 202
check "mirrored project: mirror fetched, changed paths read from it" \
	wait_until 10 bash -c "grep -qE 'key=mirror-1 .*result=mirrored:(created|done)' '$T/wh.err'"
check "mirrored project: mirror lives under state_dir/mirrors" \
	test -f "$T/state/mirrors/group/mirrored.git/HEAD"

# a project no rule names, its mirror's remote gone: settled from the
# project and ref alone as it is stored (logged before the reply, no
# worker), nothing fetched, nothing retried
sed -e 's#group/mirrored#group/gone#' "$T/mirrored.json" >"$T/gone.json"
gitlab "Push Hook" "$T/gone.json" -H "Idempotency-Key: gone-1" >/dev/null
want "project no rule names: 202" 202
check "project no rule names: no rule matches, settled before the reply" \
	log_has "key=gone-1 project=group/gone ref=refs/heads/main rules=- result=no rule matches"
check "project no rule names: no mirror, no retry, not degraded" \
	bash -c "[ ! -e '$T/state/mirrors/group/gone.git' ] && ! grep -qE 'key=gone-1 (.*result=retry|degraded)' '$T/wh.err'"

# ---- branch deletion ----
sed -e "s#TomaszKolek/my-awesome-project#group/voting-app#" "$FIX/push_branch_delete.json" >"$T/delete.json"
gitlab "Push Hook" "$T/delete.json" -H "Idempotency-Key: del-1" >/dev/null
want "branch deletion: 202" 202
check "branch deletion: logged, no trigger" wait_until 5 log_has "key=del-1 .*rules=- result=deleted"

# ---- a project without a repository: the payload's commits ----
OTHER=1111111111111111111111111111111111111111
sed -e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$OTHER/g" \
	-e "s#mike/diaspora#other/lib#" \
	-e 's#"added": \["CHANGELOG"\]#"added": ["lib/a.c"]#' \
	-e "s/\"total_commits_count\": 4/\"total_commits_count\": 2/" "$FIX/push.json" >"$T/other.json"
gitlab "Push Hook" "$T/other.json" -H "Idempotency-Key: other-1" >/dev/null
want "unknown project: 202" 202
check "unknown project: degraded, payload paths fire the rule" wait_until 10 create_count_is 1 other "$OTHER"
check "unknown project: logged as degraded" log_has "key=other-1 degraded: no repository for other/lib, using the payload's commit list"

# ---- callbacks ----
post "/callback/zadig?k=abc&s=0000" "$T/push.json" >/dev/null
want "forged callback: 401" 401
post "/callback/zadig?k=abc" "$T/push.json" >/dev/null
want "callback without s: 401" 401
post "/callback/zadig?k=abc&s=$(hmac_hex "$GL_SECRET" abc)" "$T/push.json" >/dev/null
want "genuine callback for an unknown trigger: 200" 200

# ---- Zadig's notification webhook ----
printf '{"object_kind":"workflow","event":"workflow","workflow":{"task_id":1,"workflow_name":"wf-dev","status":"passed"}}' >"$T/notify.json"
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: $ZT" >/dev/null
want "zadig notification without zadig_token configured: 404" 404
write_wh_config "$WH_URL" "  zadig_token: \${ZT}"
kill -HUP "$WH_PID"
wait_until 5 bash -c "[ \$(grep -c 'reloaded' '$T/wh.err') -ge 2 ]"
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: wrong" -H "X-Zadig-Event-UUID: n-1" >/dev/null
want "zadig notification, wrong token: 401" 401
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: $ZT" -H "X-Zadig-Event-UUID: n-1" >/dev/null
want "zadig notification: 200" 200 '"status":"accepted"'
check "zadig notification: task re-read" wait_until 5 log_has "key=zadig:n-1 workflow=wf-dev #1 result=refreshed"
post /webhook/zadig "$T/notify.json" -H "X-Zadig-Token: $ZT" -H "X-Zadig-Event-UUID: n-1" >/dev/null
want "zadig notification redelivered: 200, answered before it is deduplicated" 200 '"status":"accepted"'
check "zadig notification redelivered: a duplicate, nothing re-read" wait_until 5 log_has "key=zadig:n-1 result=duplicate"
printf '{"object_kind":"test","event":"test"}' >"$T/notify_other.json"
IGN=$(metric zadig_webhook_events_ignored_total)
post /webhook/zadig "$T/notify_other.json" -H "X-Zadig-Token: $ZT" -H "X-Zadig-Event-UUID: n-2" >/dev/null
want "zadig notification of another kind: 200 ignored" 200 '"status":"ignored"'
check "zadig notification of another kind: counted as ignored" \
	[ "$(metric zadig_webhook_events_ignored_total)" = "$((IGN + 1))" ]

# ---- Standard Webhooks signatures ----
write_wh_config "$WH_URL" "  zadig_token: \${ZT}
  signing_key: \${SK}"
kill -HUP "$WH_PID"
wait_until 5 bash -c "[ \$(grep -c 'reloaded' '$T/wh.err') -ge 3 ]"
NOW=$(date +%s)
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: sig-0" >/dev/null
want "signing_key set, no signature: 401" 401 "webhook-id"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: sig-1" -H "webhook-id: sig-1" \
	-H "webhook-timestamp: $NOW" -H "webhook-signature: v1,$(printf 'x%.0s' $(seq 43))=" >/dev/null
want "bad signature: 401" 401 "no signature matches"
OLD=$((NOW - 600))
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: sig-1" -H "webhook-id: sig-1" \
	-H "webhook-timestamp: $OLD" -H "webhook-signature: $(sw_sign "$SK" sig-1 "$OLD" "$T/push.json")" >/dev/null
want "stale signature: 401" 401 "stale"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: sig-1" -H "webhook-id: sig-1" \
	-H "webhook-timestamp: $NOW" -H "webhook-signature: v1,AAAA $(sw_sign "$SK" sig-1 "$NOW" "$T/push.json")" >/dev/null
want "good signature (among several): 202" 202 '"id":"sig-1"'

# ---- SIGHUP with a bad config keeps the running one ----
cp "$CFG" "$T/good.yaml"
printf 'zadig:\n  url: [oops\n' >"$CFG"
kill -HUP "$WH_PID"
check "SIGHUP with a bad config: errors logged, old config kept" \
	wait_until 5 log_has "reload failed: keeping the running config"
check "bad reload names the file and line" log_has "reload: .*webhook.yaml:[0-9]+"
run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "still serving after a bad reload" 0 "^200$"
cp "$T/good.yaml" "$CFG"

# ---- metrics ----
curl -s "$WH_URL/metrics" >"$T/metrics"
for m in zadig_webhook_events_received_total zadig_webhook_events_accepted_total \
	'zadig_webhook_events_rejected_total{reason="token"}' \
	'zadig_webhook_events_rejected_total{reason="too_big"}' \
	'zadig_webhook_events_rejected_total{reason="bad_json"}' \
	'zadig_webhook_events_rejected_total{reason="signature"}' \
	'zadig_webhook_events_rejected_total{reason="store"}' \
	zadig_webhook_events_duplicates_total 'zadig_webhook_triggers_total{result="created"}' \
	'zadig_webhook_triggers_total{result="queued"}' 'zadig_webhook_triggers_total{result="held"}' \
	'zadig_webhook_triggers_total{result="rejected"}' zadig_webhook_zadig_request_seconds_bucket \
	zadig_webhook_zadig_request_seconds_count zadig_webhook_queue_depth zadig_webhook_notes_written_total; do
	check "metrics: $m" grep -qF "$m" "$T/metrics"
done
check "metrics: 4 token rejections counted" grep -q '^zadig_webhook_events_rejected_total{reason="token"} 4$' "$T/metrics"
check "metrics: 2 refused callbacks counted" grep -q '^zadig_webhook_callbacks_total{result="refused"} 2$' "$T/metrics"
check "metrics: duplicates counted" grep -q '^zadig_webhook_events_duplicates_total 3$' "$T/metrics"
check "metrics: created triggers counted" grep -q '^zadig_webhook_triggers_total{result="created"} 8$' "$T/metrics"
check "metrics: notes written" metric_ge zadig_webhook_notes_written_total 1

# ---- headers too big for an answer to fit beside them: 431, not stored ----
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: pad-12500" -H "X-Pad: $(head -c 12500 /dev/zero | tr '\0' a)" >/dev/null
want "12,500 bytes of headers: 431" 431 "request headers larger than 12 KiB"
# (15 KB leave libmicrohttpd no room for any answer: the connection is
# closed, but nothing may have been stored)
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: pad-15450" -H "X-Pad: $(head -c 15450 /dev/zero | tr '\0' a)" >/dev/null
check "15,450 bytes of headers: not accepted" test "$(cat "$T/code")" != 202
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: pad-15450" -H "webhook-id: pad-15450" \
	-H "webhook-timestamp: $NOW" -H "webhook-signature: $(sw_sign "$SK" pad-15450 "$NOW" "$T/push.json")" \
	-H "X-Pad: $(head -c 10000 /dev/zero | tr '\0' a)" >/dev/null
want "10,000 bytes of headers: accepted, and the refused delivery stored nothing" 202 '"status":"accepted"'

# ---- SIGTERM: requests on their way are answered, idle ones not awaited ----
# fd 5: a kept-alive connection, idle after its request; fd 3: half of a
# request's headers sent; fd 4: the headers and 20 bytes of the body
len=$(wc -c <"$T/push.json")
hdrs() {
	printf 'POST /webhook/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: %s\r\nX-Gitlab-Event: Push Hook\r\nIdempotency-Key: %s\r\nwebhook-id: %s\r\nwebhook-timestamp: %s\r\nwebhook-signature: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n' \
		"$GL_SECRET" "$1" "$1" "$NOW" "$(sw_sign "$SK" "$1" "$NOW" "$T/push.json")" "$len"
}
exec 5<>"/dev/tcp/127.0.0.1/$WH_PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&5
exec 3<>"/dev/tcp/127.0.0.1/$WH_PORT"
hdrs term-3 | head -c 40 >&3
exec 4<>"/dev/tcp/127.0.0.1/$WH_PORT"
{ hdrs term-4 && head -c 20 "$T/push.json"; } >&4
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$WH_PID"
sleep 0.5
{ hdrs term-3 | tail -c +41 && cat "$T/push.json"; } >&3
tail -c +21 "$T/push.json" >&4
timeout 5 cat <&3 >"$T/r3"
timeout 5 cat <&4 >"$T/r4"
WH_RC=0
wait "$WH_PID" 2>/dev/null || WH_RC=$?
took=$((($(date +%s%N) - t0) / 1000000))
WH_PID=
exec 3<&- 4<&- 5<&-
check "SIGTERM: a request whose headers were arriving is answered 202" grep -q "^HTTP/1.1 202" "$T/r3"
check "SIGTERM: a request whose body was arriving is answered 202" grep -q "^HTTP/1.1 202" "$T/r4"
check "SIGTERM: answers close their connection" grep -qi "^Connection: close" "$T/r4"
check "SIGTERM: exit 0" test "$WH_RC" = 0
check "SIGTERM: an idle kept-alive connection is not waited for (${took}ms)" test "$took" -lt 4000
check "SIGTERM: logged" log_has "stopped$"
check "SIGTERM: nothing was cut" bash -c "! grep -q 'still in progress' '$T/wh.err'"
wh_start "$CFG"
for k in term-3 term-4; do
	gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: $k" -H "webhook-id: $k" \
		-H "webhook-timestamp: $NOW" -H "webhook-signature: $(sw_sign "$SK" "$k" "$NOW" "$T/push.json")" >/dev/null
	want "SIGTERM: the event of $k was stored" 200 '"status":"duplicate"'
done
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: push-1" -H "webhook-id: push-1" \
	-H "webhook-timestamp: $NOW" -H "webhook-signature: $(sw_sign "$SK" push-1 "$NOW" "$T/push.json")" >/dev/null
want "after restart a redelivery is still a duplicate" 200 '"status":"duplicate"'
one_each() {
	creates_are 2 '\"rule\":\"dev\"' && creates_are 2 '\"rule\":\"mr\"' &&
		creates_are 1 '\"rule\":\"rel\"' &&
		creates_are 1 '\"rule\":\"src-only\"' &&
		creates_are 1 '\"rule\":\"other\"'
}
check "one create per (repo, ref, commit, rule) overall" one_each
wh_stop INT
check "SIGINT: exit 0" test "$WH_RC" = 0

check "no secret in the receiver's log" bash -c "! grep -qF -e '$GL_SECRET' -e '$ZT' -e '${SK#whsec_}' -e '$TOKEN' '$T/wh.err'"
finish
