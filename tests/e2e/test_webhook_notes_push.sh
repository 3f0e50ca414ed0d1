#!/bin/bash
# zadig-webhook with notes.push (design.md §3, §5, §6): the receiver writes
# the notes into its repository and pushes refs/notes/zadig to the
# repository's origin, merged with the notes another writer pushed there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start --steps 2
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET

# ---- origin (bare), the receiver's clone of it, a developer's clone ----
O=$T/origin.git
W=$T/voting-app
git init -q --bare "$O"
git clone -q "$O" "$W" 2>/dev/null
mkdir -p "$W/src"
echo a >"$W/src/app.c"
git -C "$W" add -A && git -C "$W" commit -qm "root"
C1=$(git -C "$W" rev-parse HEAD)
echo b >>"$W/src/app.c"
git -C "$W" commit -qam "change the app"
C2=$(git -C "$W" rev-parse HEAD)
git -C "$W" push -q origin main

# another writer's notes are on origin already: one for C1, one for C2
D=$T/dev
git clone -q "$O" "$D"
git -C "$D" notes --ref=zadig add -m "passed other-wf #7 http://z/7" "$C1"
git -C "$D" notes --ref=zadig add -m "failed other-wf #8 http://z/8" "$C2"
git -C "$D" push -q origin refs/notes/zadig
THEIRS=$(git -C "$D" rev-parse refs/notes/zadig)

# a project whose repository has no origin
S=$T/solo
git init -q "$S"
echo s >"$S/s.c"
git -C "$S" add -A && git -C "$S" commit -qm "solo root"
S1=$(git -C "$S" rev-parse HEAD)
echo t >>"$S/s.c"
git -C "$S" commit -qam "solo change"
S2=$(git -C "$S" rev-parse HEAD)

# a project read from a mirror of this bare repository
M=$T/mirrored.git
git clone -q --mirror "$O" "$M"

# a project whose path is a `git clone --mirror` of GitLab's repository
# kept current by cron (`git fetch --prune`: every ref the remote lacks
# goes, refs/notes/zadig too)
GL=$T/gitlab.git
MP=$T/mirror-path.git
git clone -q --bare "$O" "$GL"
git clone -q --mirror "$GL" "$MP"

CFG=$T/webhook.yaml
write_config "$CFG" "$FAKE_URL" "state_dir: $T/state
notes:
  push: true
poll:
  interval: 200ms
  max_interval: 400ms
webhook:
  listen: 127.0.0.1:8080
  secret: \${GL_SECRET}
  workers: 2
  repos:
    - project: group/voting-app
      path: $W
    - project: group/solo
      path: $S
    - project: group/mirrored
      url: $M
    - project: group/mirror-path
      path: $MP
rules:
  - name: dev
    repo: \"group/*\"
    branches: [main]
    workflow:
      name: wf-dev
      env: dev
      targets:
        - name: vote
          repos: [voting-app]"

wh_start "$CFG"
check "receiver listening" log_has "listening on 127\.0\.0\.1:$WH_PORT$"

sed -e "s/95790bf891e76fee5e1747ab589903a6a1f80f22/$C1/" \
	-e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$C2/g" \
	-e "s#mike/diaspora#group/voting-app#" \
	-e "s#refs/heads/master#refs/heads/main#" "$FIX/push.json" >"$T/push.json"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: push-1" >/dev/null
want "push: 202 accepted" 202 '"status":"accepted"'

origin_note() {
	git --git-dir "$O" notes --ref=zadig show "$1" 2>/dev/null
}
passed_on_origin() {
	origin_note "$C2" | grep -q "^passed wf-dev #1 "
}
check "the passed line reaches origin" wait_until 20 passed_on_origin
check "the receiver logged the push" log_has "notes of group/voting-app: pushed"
check "origin keeps the other writer's note of C1" \
	bash -c "[ \"\$(git --git-dir '$O' notes --ref=zadig show '$C1')\" = 'passed other-wf #7 http://z/7' ]"
check "origin keeps the other writer's line of C2 next to ours" \
	bash -c "git --git-dir '$O' notes --ref=zadig show '$C2' | grep -q '^failed other-wf #8 http://z/8$'"
check "origin's notes descend from the other writer's" \
	git --git-dir "$O" merge-base --is-ancestor "$THEIRS" refs/notes/zadig
wait_same() {
	[ "$(git -C "$W" rev-parse refs/notes/zadig)" = "$(git --git-dir "$O" rev-parse refs/notes/zadig)" ]
}
check "the receiver's notes and origin's are the same commit" wait_until 5 wait_same
git -C "$D" fetch -q origin +refs/notes/zadig:refs/notes/zadig
check "a developer's plain fetch shows the task" \
	bash -c "git -C '$D' log -1 --notes=zadig --format=%N '$C2' | grep -q '^passed wf-dev #1 '"

# ---- a repository without origin: logged once, never fatal ----
sed -e "s/95790bf891e76fee5e1747ab589903a6a1f80f22/$S1/" \
	-e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$S2/g" \
	-e "s#mike/diaspora#group/solo#" \
	-e "s#refs/heads/master#refs/heads/main#" "$FIX/push.json" >"$T/solo.json"
gitlab "Push Hook" "$T/solo.json" -H "Idempotency-Key: solo-1" >/dev/null
want "solo push: 202 accepted" 202 '"status":"accepted"'
solo_passed() {
	git -C "$S" notes --ref=zadig show "$S2" 2>/dev/null | grep -q "^passed wf-dev #2 "
}
check "solo: the note is written locally" wait_until 20 solo_passed
check "solo: no origin is logged" \
	wait_until 5 log_has "notes of group/solo: not pushed: $S has no remote 'origin'"
sleep 0.5
check "solo: logged once" \
	bash -c "[ \$(grep -c \"notes of group/solo: not pushed\" '$T/wh.err') = 1 ]"
# ---- a mirror: the notes go to the mirrored url ----
sed -e "s/95790bf891e76fee5e1747ab589903a6a1f80f22/$C1/" \
	-e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$C2/g" \
	-e "s#mike/diaspora#group/mirrored#" \
	-e "s#refs/heads/master#refs/heads/main#" "$FIX/push.json" >"$T/mirrored.json"
gitlab "Push Hook" "$T/mirrored.json" -H "Idempotency-Key: mirror-1" >/dev/null
want "mirrored push: 202 accepted" 202 '"status":"accepted"'
mirror_passed() {
	git --git-dir "$M" notes --ref=zadig show "$C2" 2>/dev/null | grep -q "^passed wf-dev #3 "
}
check "mirror: the passed line reaches the mirrored url" wait_until 20 mirror_passed
check "mirror: the notes that were there are kept" \
	bash -c "git --git-dir '$M' notes --ref=zadig show '$C2' | grep -q '^failed other-wf #8 '"

# ---- a path: mirror whose fetch --prune deletes the unpushed notes ----
# the push fails (GitLab's notes ref locked); meanwhile the mirror's cron
# fetches with --prune and the local notes ref is gone: the receiver used
# to find nothing to push, log "pushed", and the note was lost everywhere
mkdir -p "$GL/refs/notes"
touch "$GL/refs/notes/zadig.lock"
sed -e "s/95790bf891e76fee5e1747ab589903a6a1f80f22/$C1/" \
	-e "s/da1560886d4f094c3e6c9ef40349f7d38b5d27d7/$C2/g" \
	-e "s#mike/diaspora#group/mirror-path#" \
	-e "s#refs/heads/master#refs/heads/main#" "$FIX/push.json" >"$T/mp.json"
gitlab "Push Hook" "$T/mp.json" -H "Idempotency-Key: mirror-path-1" >/dev/null
want "mirror path push: 202 accepted" 202 '"status":"accepted"'
mp_note() {
	git --git-dir "$1" notes --ref=zadig show "$C2" 2>/dev/null | grep -q "^passed wf-dev #4 "
}
check "mirror path: the note is written locally" wait_until 20 mp_note "$MP"
# a try that failed after the last note was written: the next try is a
# back-off away (a try under way could still win once the lock is gone)
mp_fails() {
	grep -c "notes of group/mirror-path: not pushed, will retry" "$T/wh.err"
}
n=$(mp_fails)
mp_failed_again() {
	[ "$(mp_fails)" -gt "$n" ]
}
check "mirror path: its push keeps failing on the lock" \
	wait_until 20 mp_failed_again
check "mirror path: ... saying so" log_has \
	"notes of group/mirror-path: not pushed, will retry: notes ref 'refs/notes/zadig' is locked: '$GL/refs/notes/zadig.lock' exists"
git --git-dir "$MP" fetch -q --prune
check "mirror path: the cron's fetch --prune deleted the notes ref" \
	bash -c "! git --git-dir '$MP' rev-parse -q --verify refs/notes/zadig"
rm -f "$GL/refs/notes/zadig.lock"
check "mirror path: the note reaches GitLab once the lock is gone" \
	wait_until 30 mp_note "$GL"
check "mirror path: and is back in the mirror" mp_note "$MP"
check "mirror path: the receiver says it put the notes back" \
	log_has "notes of group/mirror-path: notes written here were missing from refs/notes/zadig \(deleted or reset by another process\): put back"
check "mirror path: never 'pushed' while the notes were missing" \
	bash -c "! grep -q 'notes of group/mirror-path: nothing pushed' '$T/wh.err'"

run curl -s -o /dev/null -w '%{http_code}' "$WH_URL/healthz"
expect "still serving" 0 "^200$"

wh_stop TERM
check "SIGTERM: exit 0" test "$WH_RC" = 0
check "no secret in the receiver's log" bash -c "! grep -qF -e '$GL_SECRET' -e '$TOKEN' '$T/wh.err'"
finish
