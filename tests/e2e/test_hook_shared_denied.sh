#!/bin/bash
# A store another user made that the pushing user cannot write (a
# repository a group pushes to without core.sharedRepository, or one
# whose store an earlier zadig-hook made): nothing can be recorded or
# spooled there, so the pusher is told whose the directory is, what to
# fix and how to trigger the push once it is fixed; `git zadig config
# check`, run by an administrator in the repository, warns of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "ok - skipped: pushing as two other users needs root and setpriv"
	finish
fi
A=65534 # nobody
B=1     # daemon
GRP=100 # users

fake_start
chmod 711 "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
ACFG=$T/async.yaml
hook_config "$ACFG" "$FAKE_URL" async
chmod 644 "$CFG" "$ACFG"
Z="remote: zadig:"

as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --groups="$GRP" \
		env HOME="$T/home-$u" "$@"
}
for u in $A $B; do
	mkdir -p "$T/home-$u"
	printf '[user]\n\tname = u%s\n\temail = u%s@example.com\n[safe]\n\tdirectory = *\n[protocol "file"]\n\tallow = always\n' \
		"$u" "$u" >"$T/home-$u/.gitconfig"
	chown -R "$u:$u" "$T/home-$u"
done

# group_repo REPO CONFIG: a bare repository the group may write as git's
# files go (group GRP, g+rwX, setgid directories) but without
# core.sharedRepository, the hook installed, a clone for each user
group_repo() {
	local g=$T/$1.git
	git init -q --bare "$g"
	zadig-hook install "$g" --config "$2" >/dev/null ||
		not_ok "install into $1.git"
	chgrp -R "$GRP" "$g"
	chmod -R g+rwX "$g"
	find "$g" -type d -exec chmod g+s {} +
	for u in $A $B; do
		as "$u" git clone -q "file://$g" "$T/home-$u/$1" 2>/dev/null
	done
}

# share_objects GIT-DIR: the object directories the first user's push
# (and its hook's notes) made, given to the group, as git's own sharing
# would; else the second user's push fails in git itself whenever one of
# its objects falls into such a directory (a chance of a few in 256,
# by the commits' hashes), before any hook runs
share_objects() {
	chgrp -R "$GRP" "$1/objects" && chmod -R g+rwX "$1/objects" &&
		find "$1/objects" -type d -exec chmod g+s {} +
}

# push UID REPO BRANCH: as UID, a commit on BRANCH of REPO, pushed
push() {
	local w=$T/home-$1/$2
	as "$1" git -C "$w" fetch -q origin 2>/dev/null
	as "$1" git -C "$w" checkout -q -B "$3" 2>/dev/null
	as "$1" git -C "$w" rev-parse -q --verify "origin/$3" >/dev/null &&
		as "$1" git -C "$w" reset -q --hard "origin/$3"
	as "$1" git -C "$w" commit -q --allow-empty -m "$3 by $1"
	hrun as "$1" git -C "$w" push origin "$3"
}

# ---- the second user cannot write the first one's store ----
group_repo proj "$CFG"
G=$T/proj.git
S=$G/zadig-hook
push $A proj main
expect "the first user's push is triggered" 0 "" "$Z dev: wf-dev #1 created"
wait_pollers 20 "$G"
run git --git-dir="$G" zadig config check
expect "config check, repository not shared: ok, no warning" 0 "^ok$"
check "config check, repository not shared: no warning" \
	test ! -s "$T/err"
share_objects "$G"
push $B proj main
tip=$(git --git-dir="$G" rev-parse main)
later=$(sed -n "s/.*run 'git zadig \(trigger [^']*\)' in the repository.*/\1/p" "$T/err")
expect "the second user: the store cannot be opened" 0 "" \
	"^$Z cannot open state store '$S/state.db': Permission denied; nothing triggered"
expect "the second user: who the hook runs as, whose the directory is" 0 "" \
	"^$Z the hook runs as the pushing user, uid $B \\(daemon\\), who cannot write '$S' \\(uid $A \\(nobody\\), group $GRP \\(users\\), mode 2700\\)"
expect "the second user: what to fix" 0 "" \
	"share the repository with its group: git config core.sharedRepository group, then \\(as root\\): chgrp -R users '$G' && chmod -R g\\+rwX '$G' && find '$G' -type d -exec chmod g\\+s \\{\\} \\+ *$"
expect "the second user: how to trigger the push once it is fixed" 0 "" \
	"^$Z refs/heads/main: once the store can be written, run 'git zadig trigger ${tip:0:12} --ref refs/heads/main --before [0-9a-f]{12}' in the repository"

# an administrator shares the repository: config check names the store
git --git-dir="$G" config core.sharedRepository group
run git --git-dir="$G" zadig config check
expect "config check, shared: still ok (a warning)" 0 "^ok$"
expect "config check, shared: the store the group cannot write" 0 "" \
	"^git-zadig: warning: '$S' is not for the repository's group to write \\(uid $A \\(nobody\\), group $GRP \\(users\\), mode 2700\\): the hook cannot use the store for the group's other users; as root: chgrp -R users '$G' && chmod -R g\\+rwX '$G' && find '$G' -type d -exec chmod g\\+s \\{\\} \\+$"

# the notes refs an earlier hook made are named too, once the store is
# the group's
chgrp -R users "$S" && chmod -R g+rwX "$S" && find "$S" -type d -exec chmod g+s {} +
run git --git-dir="$G" zadig config check
expect "config check, shared: the notes refs the group cannot write" 0 "" \
	"^git-zadig: warning: '$G/refs/notes' is not for the repository's group to write \\(uid $A \\(nobody\\), group $GRP \\(users\\), mode 2755\\): the hook cannot write the notes for the group's other users; as root: chgrp -R users '$G' "

# the fix the lines give
chgrp -R users "$G" && chmod -R g+rwX "$G" && find "$G" -type d -exec chmod g+s {} +
run git --git-dir="$G" zadig config check
expect "config check after the fix: ok" 0 "^ok$"
check "config check after the fix: no warning" test ! -s "$T/err"
# shellcheck disable=SC2086 # the words of the command
run as $B git --git-dir="$G" zadig $later
expect "after the fix: the command the pusher was given triggers the push" 0 \
	"dev: wf-dev #2 created"
push $B proj main
expect "after the fix: the second user's push is triggered" 0 "" \
	"$Z dev: wf-dev #3 created"
wait_pollers 20 "$G"

# ---- async: the spool cannot be written either ----
group_repo open "$ACFG"
G=$T/open.git
S=$G/zadig-hook
push $A open main
expect "async, first user: queued" 0 "" "refs/heads/main queued \\(async\\)"
check "async, first user: triggered" wait_creates wf-dev 4
wait_pollers 20 "$G"
share_objects "$G"
push $B open main
expect "async, second user: the spool cannot be written" 0 "" \
	"^$Z cannot create '$S/spool': Permission denied; nothing triggered"
expect "async, second user: whose the directory is" 0 "" \
	"^$Z the hook runs as the pushing user, uid $B \\(daemon\\), who cannot write '$S"
expect "async, second user: how to trigger it later" 0 "" \
	"^$Z refs/heads/main: once the store can be written, run 'git zadig trigger "

# ---- a state_dir of the configuration, for a shared repository ----
SCFG=$T/state.yaml
hook_config "$SCFG" "$FAKE_URL" sync 5s "state_dir: $T/state"
chmod 644 "$SCFG"
git init -q --bare --shared=group "$T/sd.git"
chgrp -R "$GRP" "$T/sd.git"
zadig-hook install "$T/sd.git" --config "$SCFG" >/dev/null
run git --git-dir="$T/sd.git" zadig config check
expect "config check, state_dir and a shared repository: ok" 0 "^ok$"
expect "config check, state_dir and a shared repository: warned" 0 "" \
	"^git-zadig: warning: state_dir '$T/state' holds the store of '$T/sd.git/?', which is shared \\(core.sharedRepository\\): what the hook makes there is the pushing user's own, so the other users' pushes cannot use it; leave state_dir unset \\(<git-dir>/zadig-hook follows the repository's sharing\\), or push as one user"
mkdir "$T/state" && chown $A "$T/state"
as $A git clone -q "file://$T/sd.git" "$T/home-$A/sd" 2>/dev/null
as $B git clone -q "file://$T/sd.git" "$T/home-$B/sd" 2>/dev/null
push $A sd main
expect "state_dir: the first user's push is triggered" 0 "" "$Z dev: wf-dev #[0-9]+ created"
wait_pollers 20 "$T/sd.git"
push $B sd main
expect "state_dir: the second user is told what to fix" 0 "" \
	"^$Z the hook runs as the pushing user, uid $B \\(daemon\\), who cannot write '$T/state' \\(uid $A \\(nobody\\), group 0 \\(root\\), mode 0755\\): state_dir '$T/state' \\($SCFG\\) must let every pushing user write: push as one user, or leave state_dir unset, so that each repository's store follows its core.sharedRepository"

hook_finish
