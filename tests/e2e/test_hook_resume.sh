#!/bin/bash
# examples/zadig-hook-resume ROOT: after a reboot or a poller that died,
# the work zadig-hook left in the repositories under ROOT (a trigger
# queued with no poller, a task no poller follows) is taken up again by
# `git zadig sync` in each repository whose hook is zadig-hook's; the
# others are left alone, and a repository with nothing to do says nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

RESUME=$ZH_SOURCE_DIR/examples/zadig-hook-resume
fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
# hook.poll: false leaves a queued trigger with no poller, as a poller
# that died (or a reboot) does
sed 's/^  deadline: .*/&\n  poll: false/' "$CFG" >"$T/nopoll.yaml"
Z="remote: zadig:"
R=$T/srv
mkdir -p "$R/group" "$T/work"

run sh "$RESUME"
expect "no root is a usage error" 2 "" "usage: zadig-hook-resume ROOT"

# repo SUBDIR CONFIG: a bare repository $R/SUBDIR.git with the hook, and
# its clone $T/work/<name> with one commit not pushed yet
repo() {
	local n=${1##*/}
	git init -q --bare "$R/$1.git"
	zadig-hook install "$R/$1.git" --config "$2" >/dev/null ||
		not_ok "install into $1.git"
	git clone -q "file://$R/$1.git" "$T/work/$n" 2>/dev/null
	git -C "$T/work/$n" commit -q --allow-empty -m "first commit of $n"
}

# ---- a: a trigger Zadig did not take, and no poller ----
repo a "$T/nopoll.yaml"
# Zadig's own error: an answer (a bare 503 may be a proxy's, with the task
# made behind it, which the next try first looks up)
BUSY='"status":503,"body":"{\"code\":6000,\"message\":\"busy\"}"'
fake_ctl POST fault "{\"method\":\"POST\",\"path\":\"/api/\",$BUSY,\"times\":1}" >/dev/null
hrun git -C "$T/work/a" push origin main
expect "a: queued (zadig is busy)" 0 "" "$Z dev: queued, zadig 6000: busy"
check "a: no poller" test -z "$(pollers "$R/a.git")"

# ---- group/b: a task whose poller was killed ----
repo group/b "$CFG"
git -C "$T/work/b" checkout -q -b slow/b
hrun git -C "$T/work/b" push origin slow/b
expect "b: a task that runs on" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
bid=$(grep -o 'wf-slow-build #[0-9]*' "$T/err" | head -n 1 | tr -dc 0-9)
bp=$(poller_of "$R/group/b.git")
check "b: its poller runs" test -n "$bp"
kill -9 $bp
check "b: its poller is gone" wait_pollers 5 "$R/group/b.git"
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${bid:-0},\"status\":\"passed\"}" >/dev/null

# ---- c: the hook installed, nothing pending ----
repo c "$CFG"
hrun git -C "$T/work/c" push origin main
expect "c: pushed" 0 "" "$Z dev: wf-dev #[0-9]+ created"
check "c: noted passed" wait_note "$R/c.git" main "^passed wf-dev " 10
check "c: its poller is done" wait_pollers 20 "$R/c.git"

# ---- plain.git: no zadig-hook; foreign.git: another hook ----
git init -q --bare "$R/plain.git"
git init -q --bare "$R/foreign.git"
printf '#!/bin/sh\ntouch "%s"\n' "$T/foreign.ran" >"$R/foreign.git/hooks/post-receive"
chmod +x "$R/foreign.git/hooks/post-receive"

# after the reboot: Zadig is fine again, a is set to start its poller
cp "$CFG" "$(git --git-dir="$R/a.git" config zadig.config)"
run sh "$RESUME" "$R"
expect "resume" 0 "^$R/a.git: delivered 1 trigger, "
check "resume: a's trigger is sent" \
	grep -qE "^$R/a.git: .*wf-dev #[0-9]+ created" "$T/out" "$T/err"
check "resume: a's note shows the task" \
	wait_note "$R/a.git" main "^(created|running|passed) wf-dev #[0-9]+ " 10
check "resume: a's task is followed to its end (sync started the poller)" \
	wait_note "$R/a.git" main "^passed wf-dev #[0-9]+ " 15
check "resume: b (nested) has its task polled" \
	grep -q "^$R/group/b.git: delivered 0 triggers, polled 1 task, updated 1 note$" "$T/out"
check "resume: b's note says passed" \
	wait_note "$R/group/b.git" slow/b "^passed wf-slow-build #$bid " 10
check "resume: c, with nothing to do, says nothing" bash -c "! grep -q '/c.git' '$T/out' '$T/err'"
check "resume: plain.git is left alone (no store made)" test ! -e "$R/plain.git/zadig-hook"
check "resume: foreign.git is left alone (no store made)" test ! -e "$R/foreign.git/zadig-hook"
check "resume: plain.git and foreign.git are not named" \
	bash -c "! grep -qE 'plain|foreign' '$T/out' '$T/err'"
check "one create per push" test "$(creates wf-dev)" = 3

# ---- a trigger still queued: said, and exit 1 ----
check "pollers done" wait_pollers 20
commit "$T/work/a" "second"
cp "$T/nopoll.yaml" "$(git --git-dir="$R/a.git" config zadig.config)"
fake_ctl POST fault "{\"method\":\"POST\",\"path\":\"/api/\",$BUSY,\"times\":2}" >/dev/null
hrun git -C "$T/work/a" push origin main
expect "a: queued again" 0 "" "$Z dev: queued, zadig 6000: busy"
run sh "$RESUME" "$R"
expect "resume while Zadig refuses: exit 1" 1 "^$R/a.git: delivered 0 triggers"
check "resume while Zadig refuses: the queued trigger is named" \
	grep -q "^$R/a.git: .*queued" "$T/out"
run sh "$RESUME" "$R"
expect "resume once Zadig takes it" 0 "^$R/a.git: delivered 1 trigger"

# ---- git-zadig by its path, never through git's alias lookup ----
# cron's PATH (/usr/bin:/bin) lacks git-zadig: `git zadig` would then run
# the repository's own alias.zadig, as the user running the script
check "pollers done before the PATH runs" wait_pollers 20
commit "$T/work/a" "third"
cp "$T/nopoll.yaml" "$(git --git-dir="$R/a.git" config zadig.config)"
fake_ctl POST fault "{\"method\":\"POST\",\"path\":\"/api/\",$BUSY,\"times\":1}" >/dev/null
hrun git -C "$T/work/a" push origin main
expect "a: queued once more" 0 "" "$Z dev: queued, zadig 6000: busy"
for g in a c group/b; do
	git --git-dir="$R/$g.git" config alias.zadig "!touch '$T/pwned'"
done
# cron: env -i, and PATH=/usr/bin:/bin
cron() {
	run env -i HOME="$HOME" GIT_CONFIG_NOSYSTEM=1 ZADIG_TOKEN="$TOKEN" \
		PATH=/usr/bin:/bin "$@"
}
cron sh "$RESUME" "$R"
expect "cron, git-zadig nowhere to be found: exit 2, said" 2 "" \
	"zadig-hook-resume: error: git-zadig is neither beside this script \('$ZH_SOURCE_DIR/examples'\) nor on PATH; set GIT_ZADIG to its absolute path"
check "cron, git-zadig nowhere: the repository's alias.zadig did not run" \
	test ! -e "$T/pwned"
check "cron, git-zadig nowhere: nothing synced" \
	bash -c "! grep -q delivered '$T/out'"
cron GIT_ZADIG=git-zadig sh "$RESUME" "$R"
expect "GIT_ZADIG not absolute: exit 2" 2 "" \
	"GIT_ZADIG='git-zadig' is not the absolute path of an executable file"
cron GIT_ZADIG="$T/none/git-zadig" sh "$RESUME" "$R"
expect "GIT_ZADIG missing: exit 2" 2 "" \
	"GIT_ZADIG='$T/none/git-zadig' is not the absolute path of an executable file"
# installed beside git-zadig, as /usr/local/bin holds both
mkdir -p "$T/inst dir"
cp "$RESUME" "$T/inst dir/zadig-hook-resume"
ln -s "$ZH_BIN/git-zadig" "$T/inst dir/git-zadig"
cron sh "$T/inst dir/zadig-hook-resume" "$R"
expect "cron, the script beside git-zadig: it runs that one" 0 \
	"^$R/a.git: delivered 1 trigger"
check "cron, beside git-zadig: the alias did not run" test ! -e "$T/pwned"
commit "$T/work/a" "fourth"
fake_ctl POST fault "{\"method\":\"POST\",\"path\":\"/api/\",$BUSY,\"times\":1}" >/dev/null
hrun git -C "$T/work/a" push origin main
expect "a: queued yet again" 0 "" "$Z dev: queued, zadig 6000: busy"
cron GIT_ZADIG="$ZH_BIN/git-zadig" sh "$RESUME" "$R"
expect "cron, GIT_ZADIG: it runs that one" 0 "^$R/a.git: delivered 1 trigger"
check "cron, GIT_ZADIG: the alias did not run" test ! -e "$T/pwned"

# ---- a repository of another user: skipped, and said ----
# its git config (an alias, core.fsmonitor, ...) is that user's to set:
# sync there would run what they chose, as us
if [ "$(id -u)" = 0 ]; then
	repo other "$CFG"
	git --git-dir="$R/other.git" config alias.zadig "!touch '$T/pwned'"
	chown -R 65534:65534 "$R/other.git"
	git config --global --add safe.directory '*'
	run sh "$RESUME" "$R"
	expect "another user's repository: skipped, said" 0 "" \
		"^$R/other.git: skipped: owned by $(id -un 65534), not by $(id -un); run zadig-hook-resume as its owner$"
	check "another user's repository: nothing ran there" test ! -e "$T/pwned"
	check "another user's repository: no store made" \
		test ! -e "$R/other.git/zadig-hook"
	git config --global --unset-all safe.directory
	chown -R 0:0 "$R/other.git"
fi

hook_finish
