#!/bin/bash
# Two hooks, the poller and the receiver writing notes for the same
# repository at once (issue 6): no note update is lost. Each round pushes
# one commit to two branches at the same moment (two hooks fire for it),
# and GitLab's event for it goes to the receiver, which reads the same
# repository and writes its notes there too; the hooks' poller follows
# their tasks meanwhile. In the end the note of every commit holds its
# three tasks, each passed.
# Short form: 15 rounds; ZH_RELIABILITY_FULL=1: 60 rounds.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/lib_rel.sh"

ROUNDS=$(scale 15 60)
fake_start --steps 3
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
G=$T/app.git

cat >"$T/hook.yaml" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
  timeout: 2s
hook:
  deadline: 5s
poll:
  interval: 100ms
  max_interval: 300ms
rules:
  - name: hk
    branches: ["hA/*", "hB/*"]
    workflow:
      name: wf-hook
      env: dev
      targets: [{ name: vote, repos: [app] }]
YAML
write_config "$T/webhook.yaml" "$FAKE_URL" "state_dir: $T/wstate
poll:
  interval: 100ms
  max_interval: 300ms
webhook:
  secret: \${GL_SECRET}
  workers: 3
  repos:
    - project: grp/app
      path: $G
rules:
  - name: wh
    repo: grp/app
    branches: [\"hA/*\"]
    workflow:
      name: wf-wh
      env: dev
      targets: [{ name: vote, repos: [app] }]"

git init -q --bare "$G"
zadig-hook install "$G" --config "$T/hook.yaml" >/dev/null || not_ok "install"
SRC=$T/src
git init -q "$SRC"
{
	for k in $(seq "$ROUNDS"); do
		c="round $k"
		echo "commit refs/heads/main"
		echo "committer E2E <e2e@example.com> $((1700000000 + k)) +0000"
		echo "data ${#c}"
		echo "$c"
		echo "M 644 inline src/f.c"
		echo "data ${#c}"
		echo "$c"
	done
} | git -C "$SRC" fast-import --quiet
git -C "$SRC" rev-list --reverse main >"$T/commits"
wh_start "$T/webhook.yaml"

# push_one SIDE K COMMIT: push COMMIT as refs/heads/h<SIDE>/<K>.
push_one() {
	git -C "$SRC" push -q "file://$G" "$3:refs/heads/h$1/$2" \
		2>"$T/push.$1.$2" </dev/null || echo "push $1 $2 failed" >>"$T/fail"
}
# event K COMMIT: GitLab's push event for hA/K.
event() {
	printf '{"object_kind":"push","before":"%040d","after":"%s","ref":"refs/heads/hA/%s","project":{"path_with_namespace":"grp/app"},"commits":[{"id":"%s","message":"round","added":["src/f.c"]}],"total_commits_count":1}' \
		0 "$2" "$1" "$2" >"$T/ev.$1.json"
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -X POST \
		-H "X-Gitlab-Token: $GL_SECRET" -H "X-Gitlab-Event: Push Hook" \
		-H "Idempotency-Key: notes-$1" --data-binary @"$T/ev.$1.json" \
		"$WH_URL/webhook/gitlab" >>"$T/codes"
}

: >"$T/codes"
k=0
while read -r c; do
	k=$((k + 1))
	push_one A "$k" "$c" &
	a=$!
	push_one B "$k" "$c" &
	b=$!
	wait "$a"
	event "$k" "$c" &
	e=$!
	wait "$b" "$e"
done <"$T/commits"
check "every push succeeded" test ! -e "$T/fail"
check "every event accepted" test "$(grep -c '^202$' "$T/codes")" = "$ROUNDS"
# A hook creates its task; or the poller of an earlier push, which sees
# the trigger as soon as it is recorded, sends it first; or (the machine
# busy past zadig.timeout) the hook leaves it queued. Never "already":
# each trigger is this push's. The notes below must hold it either way.
# Those not created at once are shown.
check "every hook reported its own trigger" \
	test "$(cat "$T"/push.* | grep -cE 'remote: zadig: hk: (wf-hook #[0-9]+ created|wf-hook queued, the poller is sending it|queued, )')" = $((2 * ROUNDS))
for f in "$T"/push.*; do
	grep -qE 'remote: zadig: hk: wf-hook #[0-9]+ created' "$f" ||
		sed "s|^|# ${f##*/}: |" "$f"
done

# complete: every commit's note holds two passed wf-hook tasks and one
# passed wf-wh task (and nothing else).
complete() {
	local c n=0
	while read -r c; do
		note "$G" "$c" >"$T/note"
		if [ "$(grep -cE '^passed wf-hook #[0-9]+ .* rule=hk$' "$T/note")" != 2 ] ||
			[ "$(grep -cE '^passed wf-wh #[0-9]+ .* rule=wh$' "$T/note")" != 1 ] ||
			[ "$(wc -l <"$T/note")" != 3 ]; then
			n=$((n + 1))
		fi
	done <"$T/commits"
	echo "$n" >"$T/incomplete"
	[ "$n" = 0 ]
}
check "every commit's note ends with its 3 tasks passed" wait_secs "$(scale 60 180)" complete
echo "# notes not complete: $(cat "$T/incomplete")"
if [ "$(cat "$T/incomplete")" != 0 ]; then
	while read -r c; do echo "# $c:"; note "$G" "$c" | sed 's/^/#   /'; done <"$T/commits"
fi
check "every task has its own line" \
	test "$(git --git-dir="$G" log --branches --notes=zadig --format=%N | grep -c '^passed ')" = $((3 * ROUNDS))
check "one note per commit" \
	test "$(git --git-dir="$G" notes --ref=zadig list | wc -l)" = "$ROUNDS"
check "the repository is sound (git fsck)" bash -c "git --git-dir='$G' fsck --no-progress --connectivity-only >/dev/null 2>&1"
check "the receiver wrote notes" metric_ge zadig_webhook_notes_written_total 1
wh_stop TERM
check "receiver: SIGTERM exit 0" test "$WH_RC" = 0
check "receiver: no sanitizer report" sanitizer_clean "$T/wh.err"
hook_finish
