#!/bin/bash
# A repository several users push to (git init --shared=group, i.e.
# core.sharedRepository): git runs the hook as each pushing user, so what
# the first pusher's hook and poller create in the repository (the state
# store, its lock, log and spool, the notes' objects and refs) must let
# the next user of the group in, as git's own files do. Two users of one
# group push in turn; each is triggered and noted, both use the store,
# and git gc and git fsck work for the other user afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "ok - skipped: pushing as two other users needs root and setpriv"
	finish
fi
A=65534 # nobody
B=1     # daemon
GRP=100 # users: the group both push as (neither's primary group)

fake_start
chmod 711 "$T"
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"
ACFG=$T/async.yaml
hook_config "$ACFG" "$FAKE_URL" async
chmod 644 "$CFG" "$ACFG"

# as UID CMD...: CMD as user UID, in group GRP besides its own, with a
# home of its own that lets it use the repositories of $T
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --groups="$GRP" \
		env HOME="$T/home-$u" "$@"
}
for u in $A $B; do
	mkdir -p "$T/home-$u"
	cat >"$T/home-$u/.gitconfig" <<EOF
[user]
	name = user $u
	email = u$u@example.com
[init]
	defaultBranch = main
[protocol "file"]
	allow = always
[safe]
	directory = *
EOF
	chown -R "$u:$u" "$T/home-$u"
done

# shared REPO MODE [CONFIG]: a bare repository $T/REPO.git made by
# git init --shared=MODE, of group GRP, with the hook installed, and a
# clone of it for each user ($T/home-UID/REPO)
shared() {
	git init -q --bare --shared="$2" "$T/$1.git"
	chgrp -R "$GRP" "$T/$1.git"
	zadig-hook install "$T/$1.git" --config "${3:-$CFG}" >/dev/null ||
		not_ok "install into $1.git"
	for u in $A $B; do
		as "$u" git clone -q "file://$T/$1.git" "$T/home-$u/$1" \
			2>/dev/null
	done
}

# push UID REPO BRANCH: as UID, commit to and push BRANCH of REPO
push() {
	local w=$T/home-$1/$2
	as "$1" git -C "$w" fetch -q origin 2>/dev/null
	as "$1" git -C "$w" checkout -q -B "$3" 2>/dev/null
	as "$1" git -C "$w" rev-parse -q --verify "origin/$3" >/dev/null &&
		as "$1" git -C "$w" reset -q --hard "origin/$3"
	as "$1" git -C "$w" commit -q --allow-empty -m "$3 by $1"
	hrun as "$1" git -C "$w" push origin "$3"
}

# not_shared DIR: what under DIR the group cannot use as git's own files
# (directories without g+rwxs, files without g+rw)
not_shared() {
	find "$1" \( -type d ! -perm -2070 \) -o \( -type f ! -perm -060 \)
}

# ---- group: the second user's push is triggered and noted ----
shared proj group
G=$T/proj.git
push $A proj main
expect "the first user's push is triggered" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
check "its note is written" wait_note "$G" main "^[a-z]+ wf-dev #"
wait_pollers 20 "$G"
check "the store directory: the group's, setgid (as git makes its own)" \
	test "$(stat -c %a "$G/zadig-hook")" = 2770
push $B proj main
expect "the second user's push is triggered too" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
check "the second push: no permission trouble" \
	absent "Permission denied|cannot" "$T/err"
check "the second user's note is written into the first's notes" \
	wait_note "$G" main "rule=dev"
check "the second user's note names its task" \
	wait_note "$G" main "^passed wf-dev #2 "
wait_pollers 20 "$G"
check "everything the hook made in the store is the group's" \
	test -z "$(not_shared "$G/zadig-hook")"
check "the files are 0660 (group), not world-readable" \
	test -z "$(find "$G/zadig-hook" -type f ! -perm 0660)"
check "the notes' objects and refs are the group's" \
	test -z "$(not_shared "$G/refs/notes"; find "$G/objects" -type d ! -perm -2070)"
check "and nothing is writable by others" \
	test -z "$(find "$G" -perm -o+w ! -type l)"
for u in $A $B; do
	run as "$u" git -C "$G" zadig sync
	expect "user $u: git zadig sync uses the store" 0
done
run as $A git --git-dir="$G" fsck --no-progress
expect "git fsck as the other user" 0
run as $B git --git-dir="$G" gc --quiet --prune=now
expect "git gc as the other user" 0
check "git gc: nothing it could not remove" \
	absent "Permission denied|unable|warning" "$T/err"
push $B proj main
expect "after git gc: the next push is triggered" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
check "after git gc: and noted" wait_note "$G" main "^passed wf-dev #3 "
wait_pollers 20 "$G"

# ---- all: the same, and readable by everybody; async (the spool) ----
shared open all "$ACFG"
G=$T/open.git
push $A open main
expect "async, first user: queued" 0 "" "refs/heads/main queued \\(async\\)"
check "async, first user: triggered" wait_creates wf-dev 4
push $B open feature/x
expect "async, second user: queued" 0 "" \
	"refs/heads/feature/x queued \\(async\\)"
check "async, second user: triggered (its spool file taken)" \
	wait_creates wf-dev 5
check "async, second user: noted" \
	wait_note "$G" feature/x "^passed wf-dev #5 "
wait_pollers 20 "$G"
check "all: everything the hook made is the group's" \
	test -z "$(not_shared "$G/zadig-hook")"
check "all: the store directory is 2775" \
	test "$(stat -c %a "$G/zadig-hook")" = 2775
check "all: the log and the store are readable by everybody" \
	test "$(stat -c %a "$G/zadig-hook/poller.log" "$G/zadig-hook/state.db" | sort -u)" = 664

# ---- an octal mode: exactly that (0640: the group reads only) ----
git init -q --bare --shared=0640 "$T/ro.git"
zadig-hook install "$T/ro.git" --config "$CFG" >/dev/null
chown -R $A "$T/ro.git"
chgrp -R "$GRP" "$T/ro.git"
as $A git clone -q "file://$T/ro.git" "$T/home-$A/ro" 2>/dev/null
push $A ro main
expect "0640: the owner's push is triggered" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
wait_pollers 20 "$T/ro.git"
check "0640: the store directory is 2750" \
	test "$(stat -c %a "$T/ro.git/zadig-hook")" = 2750
check "0640: its files are 0640" \
	test -z "$(find "$T/ro.git/zadig-hook" -type f ! -perm 0640)"

# ---- not shared: as before, the pusher's alone ----
git init -q --bare "$T/own.git"
zadig-hook install "$T/own.git" --config "$CFG" >/dev/null
chown -R $A "$T/own.git"
as $A git clone -q "file://$T/own.git" "$T/home-$A/own" 2>/dev/null
push $A own main
expect "not shared: triggered" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
wait_pollers 20 "$T/own.git"
check "not shared: the store directory is 0700" \
	test "$(stat -c %a "$T/own.git/zadig-hook")" = 700

hook_finish
