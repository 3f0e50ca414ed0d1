#!/bin/bash
# zadig-hook uninstall: takes out what install put in (the hook, with the
# chained hook put back; zadig.config; receive.advertisePushOptions when
# install set it), leaves a post-receive that is not zadig-hook's alone,
# refuses a hooks directory other repositories share and a foreign hook
# over a chained one unless --force, is idempotent, and with --purge stops
# the repository's poller and removes <git-dir>/zadig-hook, never the notes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
Z="remote: zadig:"

run zadig-hook --help
expect "--help names uninstall" 0 "zadig-hook uninstall <git-dir>\.\.\. \[--purge\] \[--force\]"
run zadig-hook uninstall
expect "uninstall without a repository" 2 "" "usage: zadig-hook uninstall"

# ---- a plain install, then uninstall, then again ----
new_repo a "$CFG"
hrun git -C "$T/a" push origin main
expect "a: push with the hook" 0 "" "$Z dev: wf-dev #[0-9]+ created"
check "a: noted" wait_note "$T/a.git" main "^(created|running|passed) wf-dev" 10
check "a: pollers done" wait_pollers 20
run zadig-hook uninstall "$T/a.git"
expect "uninstall" 0 "^removed the post-receive hook from '$T/a.git/hooks'$"
check "uninstall: no post-receive left" test ! -e "$T/a.git/hooks/post-receive"
check "uninstall: zadig.config unset" \
	test -z "$(git --git-dir="$T/a.git" config zadig.config)"
check "uninstall: receive.advertisePushOptions (install set it) unset" \
	test -z "$(git --git-dir="$T/a.git" config receive.advertisePushOptions)"
check "uninstall: no zadig.* key left" \
	test -z "$(git --git-dir="$T/a.git" config --get-regexp '^zadig\.')"
check "uninstall: the state store is kept (no --purge)" test -f "$T/a.git/zadig-hook/state.db"
check "uninstall: the notes are kept" \
	git --git-dir="$T/a.git" rev-parse -q --verify refs/notes/zadig
check "uninstall: says the store is kept" grep -q "kept '$T/a.git/zadig-hook'" "$T/out"
commit "$T/a" "after uninstall"
hrun git -C "$T/a" push origin main
expect "a push after uninstall" 0
check "a push after uninstall: no zadig line" bash -c "! grep -q zadig: '$T/err'"
run zadig-hook uninstall "$T/a.git"
expect "uninstall again: nothing to do" 0 "^zadig-hook is not installed in '$T/a.git'"
check "uninstall again: the store is still kept" test -f "$T/a.git/zadig-hook/state.db"

# ---- the chained hook goes back ----
git init -q --bare "$T/ch.git"
cat >"$T/admin-hook" <<SH
#!/bin/sh
cat >>"$T/admin.stdin"
echo "admin hook ran" >&2
SH
chmod 0750 "$T/admin-hook"
cp -p "$T/admin-hook" "$T/ch.git/hooks/post-receive"
zadig-hook install "$T/ch.git" --config "$CFG" >/dev/null || not_ok "install into ch.git"
run zadig-hook uninstall "$T/ch.git"
expect "uninstall over a chained hook" 0 \
	"^restored hooks/post-receive.zadig-chained as hooks/post-receive in '$T/ch.git/hooks'$"
check "the admin's hook is post-receive again" cmp -s "$T/admin-hook" "$T/ch.git/hooks/post-receive"
check "the admin's hook keeps its mode" test "$(stat -c %a "$T/ch.git/hooks/post-receive")" = 750
check "no chained hook left" test ! -e "$T/ch.git/hooks/post-receive.zadig-chained"
git clone -q "file://$T/ch.git" "$T/ch" 2>/dev/null
commit "$T/ch" "chained"
hrun git -C "$T/ch" push origin main
expect "push after uninstall: the admin's hook runs" 0 "" "remote: admin hook ran"
check "push after uninstall: zadig-hook does not" bash -c "! grep -q zadig: '$T/err'"
run zadig-hook uninstall "$T/ch.git"
expect "uninstall again: the admin's hook is left alone" 0 \
	"hooks/post-receive is not zadig-hook's: left as it is"
check "uninstall again: the admin's hook is unchanged" cmp -s "$T/admin-hook" "$T/ch.git/hooks/post-receive"

# ---- our hook removed by hand: the chained one still comes back ----
git init -q --bare "$T/rm.git"
cp -p "$T/admin-hook" "$T/rm.git/hooks/post-receive"
zadig-hook install "$T/rm.git" --config "$CFG" >/dev/null || not_ok "install into rm.git"
rm "$T/rm.git/hooks/post-receive"
run zadig-hook uninstall "$T/rm.git"
expect "uninstall after a manual rm" 0 "restored hooks/post-receive.zadig-chained as hooks/post-receive"
check "manual rm: the admin's hook is back" cmp -s "$T/admin-hook" "$T/rm.git/hooks/post-receive"

# ---- a foreign hook in our place: left alone ----
git init -q --bare "$T/fo.git"
zadig-hook install "$T/fo.git" --config "$CFG" >/dev/null || not_ok "install into fo.git"
cp -p "$T/admin-hook" "$T/fo.git/hooks/post-receive"
run zadig-hook uninstall "$T/fo.git"
expect "a foreign hook, nothing chained: left alone" 0 \
	"hooks/post-receive is not zadig-hook's: left as it is"
check "the foreign hook is unchanged" cmp -s "$T/admin-hook" "$T/fo.git/hooks/post-receive"
check "the foreign hook: zadig.config unset all the same" \
	test -z "$(git --git-dir="$T/fo.git" config zadig.config)"

# ---- a foreign hook over a chained one: refused, or --force ----
git init -q --bare "$T/two.git"
H=$T/two.git/hooks
printf '#!/bin/sh\necho hook-A >&2\n' >"$H/post-receive"
chmod +x "$H/post-receive"
zadig-hook install "$T/two.git" --config "$CFG" >/dev/null || not_ok "install into two.git"
printf '#!/bin/sh\necho hook-B >&2\n' >"$H/post-receive"
run zadig-hook uninstall "$T/two.git"
expect "a foreign hook over a chained one is refused" 2 "" \
	"^zadig-hook: error: '$H/post-receive' is not zadig-hook's and '$H/post-receive.zadig-chained' holds the hook install chained: .*--force"
check "refused: nothing changed (zadig.config kept)" \
	test "$(git --git-dir="$T/two.git" config zadig.config)" = "$CFG"
check "refused: both hooks unchanged" \
	bash -c "grep -q hook-B '$H/post-receive' && grep -q hook-A '$H/post-receive.zadig-chained'"
run zadig-hook uninstall "$T/two.git" --force
expect "--force: both hooks left, the rest done" 0 \
	"post-receive.zadig-chained is left as it is"
check "--force: both hooks unchanged" \
	bash -c "grep -q hook-B '$H/post-receive' && grep -q hook-A '$H/post-receive.zadig-chained'"
check "--force: zadig.config unset" test -z "$(git --git-dir="$T/two.git" config zadig.config)"

# ---- receive.advertisePushOptions the admin had set stays ----
git init -q --bare "$T/po.git"
git --git-dir="$T/po.git" config receive.advertisePushOptions true
zadig-hook install "$T/po.git" --config "$CFG" >/dev/null || not_ok "install into po.git"
zadig-hook install "$T/po.git" --config "$CFG" >/dev/null || not_ok "install into po.git again"
run zadig-hook uninstall "$T/po.git"
expect "uninstall where push options were set before" 0 "removed the post-receive hook"
check "receive.advertisePushOptions set before install stays" \
	test "$(git --git-dir="$T/po.git" config receive.advertisePushOptions)" = true
# installed twice: the second install does not lose that the first set it
git init -q --bare "$T/po2.git"
zadig-hook install "$T/po2.git" --config "$CFG" >/dev/null || not_ok "install into po2.git"
zadig-hook install "$T/po2.git" --config "$CFG" >/dev/null || not_ok "install into po2.git again"
run zadig-hook uninstall "$T/po2.git"
check "installed twice: receive.advertisePushOptions unset" \
	test -z "$(git --git-dir="$T/po2.git" config receive.advertisePushOptions)"

# ---- several repositories, one of them not one ----
git init -q --bare "$T/m1.git"
git init -q --bare "$T/m2.git"
zadig-hook install "$T/m1.git" --config "$CFG" >/dev/null || not_ok "install into m1.git"
zadig-hook install "$T/m2.git" --config "$CFG" >/dev/null || not_ok "install into m2.git"
run zadig-hook uninstall "$T/m1.git" "$T/nowhere.git" "$T/m2.git"
expect "several: a missing one is an error" 2 "" \
	"^zadig-hook: error: '$T/nowhere.git' is not a git repository$"
check "several: the first is done" test ! -e "$T/m1.git/hooks/post-receive"
check "several: the one after the error is done too" test ! -e "$T/m2.git/hooks/post-receive"

# ---- a hooks directory other repositories share ----
git config --global core.hooksPath "~/shared-hooks"
git init -q --bare "$T/gl.git"
zadig-hook install "$T/gl.git" --config "$CFG" >/dev/null || not_ok "install into gl.git"
run zadig-hook uninstall "$T/gl.git"
expect "a shared core.hooksPath is refused" 2 "" \
	"^zadig-hook: error: '$HOME/shared-hooks' is outside the repository: every repository using that core.hooksPath runs its hook.*--force"
check "refused: the shared hook stays" test -x "$HOME/shared-hooks/post-receive"
run zadig-hook uninstall "$T/gl.git" --force
expect "a shared core.hooksPath with --force" 0 "removed the post-receive hook from '$HOME/shared-hooks'"
check "--force: the shared hook is gone" test ! -e "$HOME/shared-hooks/post-receive"
git config --global --unset core.hooksPath

# ---- --purge: the poller stops, the store goes, the notes stay ----
new_repo p "$CFG"
git -C "$T/p" push -q origin main 2>/dev/null
check "p: noted" wait_note "$T/p.git" main "^(created|running|passed) wf-dev" 10
git -C "$T/p" checkout -q -b slow/x
hrun git -C "$T/p" push origin slow/x
expect "p: a task that never ends" 0 "" "$Z slow: wf-slow-build #[0-9]+ created"
pp=$(poller_of "$T/p.git")
check "p: a poller runs" test -n "$pp"
run zadig-hook uninstall "$T/p.git" --purge
expect "uninstall --purge" 0 "^removed '$T/p.git/zadig-hook'"
# (pgrep, as pollers does, sees no zombie: a killed poller is one until
# reaped)
check "--purge: the pollers were stopped" wait_pollers 2 "$T/p.git"
check "--purge: the store is gone" test ! -e "$T/p.git/zadig-hook"
check "--purge: the hook is gone" test ! -e "$T/p.git/hooks/post-receive"
check "--purge: the notes stay" \
	git --git-dir="$T/p.git" rev-parse -q --verify refs/notes/zadig
check "--purge: says how to drop the notes" \
	grep -qF "kept the notes (refs/notes/zadig)" "$T/out"
run zadig-hook uninstall "$T/p.git" --purge
expect "uninstall --purge again" 0 "^zadig-hook is not installed in '$T/p.git'"
check "uninstall --purge again: no store made" test ! -e "$T/p.git/zadig-hook"

# ---- --purge during a push: it waits for the push, which ends as said ----
new_repo race "$CFG"
G=$T/race.git
fake_ctl POST fault '{"method":"POST","path":"/api/directory/workflowTask/create","delay_ms":1500,"times":1}' >/dev/null
( git -C "$T/race" push origin main >"$T/race.out" 2>&1 ) &
PP=$!
# wait_until SECONDS COMMAND...: until it succeeds; 1 on timeout
wait_until() {
	local i n=$1
	shift
	for i in $(seq $((n * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# recorded_in GIT-DIR: the hook has recorded its trigger (it is sending it)
recorded_in() {
	[ "$(sqlite3 -cmd '.timeout 2000' "file:$1/zadig-hook/state.db?mode=ro" \
		'SELECT count(*) FROM triggers' 2>/dev/null)" = 1 ]
}
check "race: the hook is sending (Zadig answers late)" \
	wait_until 10 recorded_in "$G"
run zadig-hook uninstall "$G" --purge
expect "race: uninstall --purge waits for the push" 0 \
	"^waiting for the process using '$G/zadig-hook' \(pid [0-9]+: a push, or git zadig\) to finish"
check "race: then removes the store" grep -q "^removed '$G/zadig-hook'" "$T/out"
wait $PP
check "race: the pusher saw its task made (the store was there throughout)" \
	grep -qE "remote: zadig: dev: wf-dev #[0-9]+ created" "$T/race.out"
check "race: the push's poller does not make the store anew" \
	bash -c "sleep 2; test ! -e '$G/zadig-hook'"
check "race: no poller left" wait_pollers 5 "$G"

# ---- --purge while a process keeps the store open: refused ----
hook_config "$T/short.yaml" "$FAKE_URL" sync 1s
new_repo held "$T/short.yaml"
git -C "$T/held" push -q origin main 2>/dev/null
check "held: pushed" test -e "$T/held.git/zadig-hook/state.db"
check "held: its poller is done" wait_pollers 20 "$T/held.git"
flock -o -s "$T/held.git/zadig-hook/store.lock" sleep 30 &
HP=$!
run zadig-hook uninstall "$T/held.git" --purge
expect "held: refused, nothing changed" 1 "" \
	"'$T/held.git/zadig-hook' is still in use by pid [0-9]+ \(a push, or git zadig\): nothing was changed; run uninstall --purge again once it is done"
check "held: the hook stays" test -e "$T/held.git/hooks/post-receive"
check "held: the store stays" test -e "$T/held.git/zadig-hook/state.db"
check "held: zadig.config stays" git --git-dir="$T/held.git" config zadig.config
kill "$HP"
wait "$HP" 2>/dev/null
run zadig-hook uninstall "$T/held.git" --purge
expect "held: once it is free" 0 "^removed '$T/held.git/zadig-hook'"

# ---- --purge of a <git-dir>/zadig-hook that is a link: the link goes ----
# (the store refuses a path through a link: SQLite's NOFOLLOW; an admin
# may have put one there all the same)
new_repo ln "$CFG"
mkdir -p "$T/elsewhere/ln-store"
echo kept >"$T/elsewhere/ln-store/state.db"
ln -s "$T/elsewhere/ln-store" "$T/ln.git/zadig-hook"
run zadig-hook uninstall "$T/ln.git" --purge
expect "ln: purge says it removed the link and kept its target" 0 \
	"^removed the link '$T/ln.git/zadig-hook'; its target '$T/elsewhere/ln-store' is kept$"
check "ln: not said to be the store" \
	bash -c "! grep -q '(the state store, spool and poller.log)' '$T/out'"
check "ln: the link is gone" test ! -L "$T/ln.git/zadig-hook"
check "ln: the target stays" test -e "$T/elsewhere/ln-store/state.db"
new_repo lnk "$CFG"
ln -s "$T/elsewhere/ln-store" "$T/lnk.git/zadig-hook"
run zadig-hook uninstall "$T/lnk.git"
expect "lnk: without --purge the link is kept, said as a link" 0 \
	"^kept '$T/lnk.git/zadig-hook' \(a link: --purge removes the link, not what it points at\)$"

hook_finish
