#!/bin/bash
# Names from pushes and webhooks are data (issue 6, design.md §9):
# GitLab project names with "..", absolute paths, NUL or newlines never
# make a path outside state_dir (mirrors); branch and repository names
# with shell metacharacters reach Zadig byte for byte and run nothing; a
# newline in a name cannot forge a line of the receiver's log.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_webhook.sh"
. "$E2E/lib_hook.sh"
. "$(dirname "$0")/../reliability/lib_rel.sh"

fake_start
Z="remote: zadig:"
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
ESC=$T/esc   # where an escape would land: state_dir is $T/esc/in/state
mkdir -p "$ESC/in"
cd "$ESC/in" || exit 1

# no_pwned: no file named PWNED* anywhere we could have run a command.
no_pwned() {
	[ -z "$(find "$T" / -maxdepth 1 -name 'PWNED*' 2>/dev/null)" ] &&
		[ -z "$(find "$T" -name 'PWNED*' 2>/dev/null)" ]
}

# ---- the receiver: mirrors named by hostile project paths ----
git init -q --bare "$T/remote.git"
git clone -q "$T/remote.git" "$T/rw" 2>/dev/null
git -C "$T/rw" commit -q --allow-empty -m root
git -C "$T/rw" push -q origin HEAD:main 2>/dev/null
C=$(git -C "$T/rw" rev-parse HEAD)
write_config "$T/webhook.yaml" "$FAKE_URL" "state_dir: $ESC/in/state
poll:
  interval: 200ms
  max_interval: 400ms
webhook:
  secret: \${GL_SECRET}
  repos:
    - project: \"**\"
      url: $T/remote.git
rules:
  - name: any
    workflow:
      name: wf-any
      env: dev
      targets: [{ name: app, repos: [\"\${REPO}\"] }]"
wh_start "$T/webhook.yaml"
find "$T" -path "$ESC/in/state" -prune -o -print | sort >"$T/before"
i=0
for p in '../../../escape1' '/tmp/zh-abs-escape2' 'a/../../../escape3' \
	'a/b/../../../../escape4' '..' '.' './x' 'a//b' 'g/.git/../../../escape5' \
	'nul\u0000/../../../escape6' 'nl\n../../../escape7' 'back\\..\\..\\escape8' \
	'trail/' 'dot/./../../../escape9' "$(printf 'x%.0s' $(seq 3000))"; do
	i=$((i + 1))
	printf '{"object_kind":"push","before":"%040d","after":"%s","ref":"refs/heads/main","project":{"path_with_namespace":"%s"},"commits":[{"id":"%s","message":"m","added":["a"]}],"total_commits_count":1}' \
		0 "$C" "$p" "$C" >"$T/p$i.json"
	gitlab "Push Hook" "$T/p$i.json" -H "Idempotency-Key: path-$i" >/dev/null
	case $(cat "$T/code") in
	202 | 400) ok "project #$i: answered $(cat "$T/code")" ;;
	*) not_ok "project #$i: answered $(cat "$T/code")" ;;
	esac
done
check "every event worked on" wait_until 20 bash -c \
	"[ \$(sqlite3 '$ESC/in/state/state.db' \"SELECT count(*) FROM events WHERE state IN ('new','working')\") = 0 ]"
sleep 0.5
check "the receiver is alive" kill -0 "$WH_PID"
# a project that cannot name a mirror has nowhere for its notes: said
# once, not in every poll round (ten of them meanwhile)
sleep 2
check "a project that cannot name a mirror is logged" \
	grep -q "^zadig-webhook: notes of .*: project name '.*' cannot name a mirror" "$T/wh.err"
check "... once per project, not every round" \
	test -z "$(grep "^zadig-webhook: notes of .*cannot name a mirror" "$T/wh.err" | sort | uniq -d)"
find "$T" -path "$ESC/in/state" -prune -o -print | sort >"$T/after"
check "nothing was created outside state_dir" \
	test -z "$(comm -13 "$T/before" "$T/after" | grep -v -e "^$T/\(after\|before\|code\|reply\|curl.err\|wh.err\|fake.log\|p[0-9]*.json\)$")"
check "no absolute path was used" test ! -e /tmp/zh-abs-escape2.git -a ! -e /tmp/zh-abs-escape2
check "no escapeN anywhere" test -z "$(find "$T" /tmp -maxdepth 6 -name 'escape*' 2>/dev/null)"
# every mirror resolves below state_dir/mirrors
bad=
while read -r d; do
	case $(realpath "$d") in "$ESC/in/state/mirrors/"*) ;; *) bad="$bad $d" ;; esac
done < <(find "$ESC/in/state/mirrors" -name '*.git' -type d 2>/dev/null)
check "every mirror lies below state_dir/mirrors" test -z "$bad"
check "a plain project still works (mirror made)" \
	bash -c "ls -d '$ESC/in/state/mirrors/'*.git >/dev/null 2>&1 || ls -d '$ESC/in/state/mirrors/'*/*.git >/dev/null 2>&1"

# a newline in the ref cannot forge a log line
printf '{"object_kind":"push","before":"%040d","after":"%s","ref":"refs/heads/ev\\nzadig-webhook: key=FORGED result=created","project":{"path_with_namespace":"grp/nl\\nzadig-webhook: FORGED2"},"commits":[{"id":"%s","message":"m\\nzadig-webhook: FORGED3","added":["a"]}],"total_commits_count":1}' \
	0 "$C" "$C" >"$T/nl.json"
gitlab "Push Hook" "$T/nl.json" -H "Idempotency-Key: nl-1" >/dev/null
case $(cat "$T/code") in 202 | 400) ok "newlines in names: answered $(cat "$T/code")" ;; *) not_ok "newlines in names: $(cat "$T/code")" ;; esac
sleep 1
check "newlines in names: no forged log line" \
	bash -c "! grep -E '^zadig-webhook: (key=FORGED|FORGED2|FORGED3)' '$T/wh.err'"
wh_stop TERM
check "receiver: SIGTERM exit 0 after all that" test "$WH_RC" = 0
check "receiver: no sanitizer report" sanitizer_clean "$T/wh.err"

# ---- the hook: shell metacharacters in branch and repository names ----
cd "$T" || exit 1
CFG=$T/hook.yaml
cat >"$CFG" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
  timeout: 2s
hook:
  poll: false
rules:
  - name: any
    workflow:
      name: wf-meta
      env: dev
      targets: [{ name: app, repos: ["\${REPO}"] }]
  - name: custom
    custom_workflow:
      project: p
      name: wf-meta-custom
      inputs:
        - job_name: build
          job_type: zadig-build
          parameters: { branch: "\${BRANCH}", msg: "\${REPO}" }
YAML
NAME='we$(touch PWNED0)ird;`touch PWNED1`|x&y'"'"'"<z>'
git init -q --bare "$T/$NAME.git"
zadig-hook install "$T/$NAME.git" --config "$CFG" >/dev/null || not_ok "install into a strange name"
git clone -q "file://$T/$NAME.git" "$T/meta" 2>/dev/null
git -C "$T/meta" commit -q --allow-empty -m 'msg $(touch PWNED2) `touch PWNED3`'
for b in 'x$(touch${IFS}PWNED4)' 'y`touch${IFS}PWNED5`' 'z;touch${IFS}PWNED6&&echo|cat>PWNED7' "q'\"\$HOME"; do
	git -C "$T/meta" branch -q "$b" || not_ok "git allows the branch $b"
	hrun git -C "$T/meta" push origin "$b"
	expect "branch $b: the push succeeds" 0 "" "^$Z any: wf-meta #[0-9]+ created"
	requests
	sed 's/\\": /\\":/g' "$T/req.json" >"$T/req.norm"
	esc_b=$(printf '%s' "$b" | sed 's/\\/\\\\/g; s/"/\\"/g')
	check "branch $b: sent to zadig byte for byte" \
		grep -qF "\\\"branch\\\":\\\"$(printf '%s' "$esc_b" | sed 's/\\/\\\\/g; s/"/\\"/g')\\\"" "$T/req.norm"
	check "branch $b: the note is there" test -n "$(note "$T/$NAME.git" "$b")"
done
check "the repository name reached zadig as it is" \
	grep -qF 'we$(touch PWNED0)ird;`touch PWNED1`|x&y' "$T/req.json"
check "nothing in a name or message ran as a command" no_pwned
finish
