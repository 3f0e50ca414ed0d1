#!/bin/bash
# Text of others (commit messages, notes people wrote, Zadig's answers,
# ref names) reaches terminals as text: no escape sequence, carriage
# return, C1 control or bidi override in it drives the terminal of
# whoever reads it, and --json stays JSON.
E2E=$(dirname "$0")/../e2e
. "$E2E/lib.sh"
. "$E2E/lib_hook.sh"

# terminal_safe FILE: FILE holds no byte a terminal would obey: C0 but
# tab and newline, DEL, C1 (UTF-8 or a lone byte), bidi embeddings,
# overrides and isolates.
terminal_safe() {
	! LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|(^|[\x00-\x7f])[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]' "$1"
}

# has FILE STRING: FILE holds STRING as it is (no pattern).
has() {
	grep -qaF -- "$2" "$1"
}

# ---- git zadig status: commit subjects and note lines ----
R=$T/st
git init -q "$R"
cd "$R" || exit 1
git commit -q --allow-empty -m "$(printf 'fix\033[2J\033]8;;http://evil/\033\\link\033]8;;\033\\ \033]0;PWNED\007t\xe2\x80\xaeA\xc2\x9bB\x9bC\tD\rX\033[2K')" 2>/dev/null
git notes --ref=zadig add -m "$(printf 'failed wf #3 - rule=r\npassed\rfailed \033[2J\xe2\x80\xae\xc2\x85 \x9b\x7f')" HEAD
run git zadig status
expect "status of a hostile commit" 0
check "status: no control character reaches the terminal" terminal_safe "$T/out"
check "status: the subject's escape shows" has "$T/out" 'fix\x1b[2J\x1b]8;;http://evil/'
check "status: a BEL shows" has "$T/out" 'PWNED\x07t'
check "status: bidi and C1 controls show" has "$T/out" 't<U+202E>A<U+009B>B'
# (a byte that is not UTF-8 in a message is read as Latin-1: U+009B)
check "status: a tab is a space, a carriage return shows" \
	has "$T/out" 'C D\x0dX\x1b[2K'
check "status: the task line stays" grep -q '^  failed wf #3 - rule=r$' "$T/out"
check "status: a carriage return in a note line shows" \
	has "$T/out" '  passed\x0dfailed \x1b[2J<U+202E><U+0085> \x9b\x7f'
run git zadig status --json
expect "status --json of a hostile commit" 0
check "status --json: no control character reaches the terminal" terminal_safe "$T/out"
if command -v python3 >/dev/null; then
	check "status --json: valid JSON" \
		python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$T/out"
fi

# ---- Zadig's strings: sync, status --live, the hook ----
# fault METHOD PATH STATUS BODY [TIMES]: the fake answers PATH (a prefix)
# with BODY, JSON text written here as Zadig would send it.
fault() {
	local b=${4//\\/\\\\}
	b=${b//\"/\\\"}
	fake_ctl POST fault "{\"method\":\"$1\",\"path\":\"$2\",\"status\":$3,\"body\":\"$b\",\"times\":${5:-1}}" >/dev/null
}

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
sed -i 's/^hook:$/hook:\n  poll: false/' "$CFG"
new_repo app "$CFG"
G=$T/app.git
hrun git -C "$T/app" push origin main
expect "push" 0 "" "zadig: dev: wf-dev #1 created"
c=$(git -C "$T/app" rev-parse HEAD)
HOSTILE='\u001b]0;PWNED\u0007\u001b[2J\nERROR forged\r\u009b2J\u202e'
fault GET /api/directory/workflowTask/id/1/pipelines/wf-dev 200 \
	"{\"task_id\":1,\"workflow_name\":\"wf-dev\",\"status\":\"$HOSTILE\"}" -1
run_in "$G" git zadig sync --all
check "sync: Zadig's status reaches stderr as text" terminal_safe "$T/err"
check "sync: stdout is text" terminal_safe "$T/out"
check "sync: the bad status is said" grep -q "bad task status" "$T/err"
check "sync: no forged line" bash -c "! grep -q '^ERROR forged' '$T/err'"
run_in "$G" git zadig status --live
check "status --live: stderr is text" terminal_safe "$T/err"
check "status --live: stdout is text" terminal_safe "$T/out"
fake_ctl POST reset >/dev/null

# C1 controls, as UTF-8 and as a lone byte that is not UTF-8, and a bidi
# override: git zadig show --json stays UTF-8 JSON, safe to print
fault GET /api/directory/workflowTask/id/1/pipelines/wf-dev 200 \
	"$(printf '{"task_id":1,"workflow_name":"wf-dev","status":"a\xc2\x85b\xc2\x9b2Jc\x9b2Jd\xe2\x80\xaee"}')" 2
run_in "$G" git zadig show wf-dev 1 --json
expect "show --json of C1 controls" 0 '"status"'
check "show --json: C1 and bidi controls escaped" terminal_safe "$T/out"
check "show --json: as the same characters, U+FFFD for the byte" \
	has "$T/out" 'a\u0085b\u009b2Jc\ufffd2Jd\u202ee'
if command -v python3 >/dev/null; then
	check "show --json: valid UTF-8 JSON" \
		python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$T/out"
fi
run_in "$G" git zadig show wf-dev 1
expect "show of C1 controls" 0
check "show: C1 and bidi controls blanked" terminal_safe "$T/out"

# a create Zadig rejects with such a message: the pusher's line and the
# note's error="..." hold none of them
fault POST /api/directory/workflowTask/create 400 \
	"$(printf '{"type":"error","code":6540,"message":"bad\xe2\x80\xae","description":"x\x9b2Jy\xc2\x85z\u202e\u001b[2J"}')"
git -C "$T/app" checkout -q -b feature/r
commit "$T/app" r
hrun git -C "$T/app" push origin feature/r
expect "push of a rejected create" 0 "" "zadig: dev: rejected by zadig: 6540 bad"
check "push: the pusher's terminal gets text" terminal_safe "$T/err"
r=$(git -C "$T/app" rev-parse HEAD)
note "$G" "$r" >"$T/note"
check "the rejection is noted" grep -q '^rejected wf-dev #- - error=' "$T/note"
check "the note's error holds no control character" terminal_safe "$T/note"
fake_ctl POST reset >/dev/null

# the commitId lookup's urls go into notes only as pages of zadig.url:
# another server's, a javascript: one, one with a space (no note line
# holds it) or a bidi override give the page built from zadig.url
fake_ctl POST fault '{"method":"GET","path":"/api/directory/workflowTask/id/","times":-1}' >/dev/null
P=/v1/projects/detail/p/pipelines/multi
fault GET /api/directory/workflowTask 200 "[{\"task_id\":7,\"status\":\"passed\",\"url\":\"javascript://zadig$P/deploy-prod/7?%0Aalert(1)\"},{\"task_id\":8,\"status\":\"failed\",\"url\":\"https://phish.example$P/wf-x/8\"},{\"task_id\":9,\"status\":\"running\",\"url\":\"$FAKE_URL$P/wf-sp/9?a b\"},{\"task_id\":10,\"status\":\"passed\",\"url\":\"$FAKE_URL$P/wf-bidi/10\\u202e\"}]" -1
run_in "$G" git zadig sync --all
check "lookup: sync's stderr is text" terminal_safe "$T/err"
note "$G" "$c" >"$T/note"
check "lookup: the note is text" terminal_safe "$T/note"
check "lookup: no javascript: url" bash -c "! grep -q javascript '$T/note'"
check "lookup: no other server's url" bash -c "! grep -q phish '$T/note'"
check "lookup: a javascript: url's task gets zadig.url's page" \
	grep -qxF "passed deploy-prod #7 $FAKE_URL$P/deploy-prod/7" "$T/note"
check "lookup: another server's task gets zadig.url's page" \
	grep -qxF "failed wf-x #8 $FAKE_URL$P/wf-x/8" "$T/note"
check "lookup: a url with a space: the line is not dropped" \
	grep -qxF "running wf-sp #9 $FAKE_URL$P/wf-sp/9" "$T/note"
check "lookup: a url with a bidi override: the line is not dropped" \
	grep -qxF "passed wf-bidi #10 $FAKE_URL$P/wf-bidi/10" "$T/note"
fake_ctl POST reset >/dev/null

# ---- a command to copy and paste: the hook's hint after a broken
# configuration quotes the ref for the shell (git lets a ref hold
# $ ( ) { } ; ' |), so that pasting it runs no code of the pusher's ----
hook_config "$T/broken.yaml" "$FAKE_URL"
new_repo paste "$T/broken.yaml"
printf 'rules: [\n' >>"$T/broken.yaml"
mkdir -p "$T/pastehere"
# paste LINE: run the command of the hint in LINE with git a function
# that writes its arguments, one a line, to $T/args
paste_hint() {
	local cmd
	cmd=$(sed -n "s/.*, run '\(.*\)' in the repository *\$/\1/p" <<<"$1")
	[ -n "$cmd" ] || return 1
	(cd "$T/pastehere" && git() { printf '%s\n' "$@" >"$T/args"; } &&
		eval "$cmd")
}
for ref in 'y$(touch${IFS}PWNED)' "q'\$(touch\${IFS}PWNED2)'|x;y" 'plain/ref-1.0_x+y@z,w=v%'; do
	git -C "$T/paste" branch -q -f "$ref"
	hrun git -C "$T/paste" push origin "refs/heads/$ref"
	expect "broken config, ref $ref: the push succeeds" 0 "" "configuration error"
	line=$(grep -F "zadig: refs/heads/$ref: once the configuration is fixed" "$T/err")
	rm -f "$T/args"
	check "ref $ref: the hint pastes" paste_hint "$line"
	check "ref $ref: pasted, it runs nothing else" \
		bash -c "[ -z \"\$(ls -A '$T/pastehere')\" ]"
	rm -rf "$T/pastehere" && mkdir "$T/pastehere"
	check "ref $ref: pasted, git gets the ref as it is" \
		grep -qxF -- "refs/heads/$ref" "$T/args"
done
check "a plain ref is not quoted" grep -qF -- "--ref refs/heads/plain/ref-1.0_x+y@z,w=v% --before 0'" "$T/err"

finish
