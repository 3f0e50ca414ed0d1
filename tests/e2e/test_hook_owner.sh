#!/bin/bash
# A repository owned by another user, as root sees a server's repository
# (it belongs to the git service user): git refuses it unless
# safe.directory lets it in, and zadig-hook install and git zadig say so,
# with git's fix, where they said "not a git repository".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

if [ "$(id -u)" != 0 ]; then
	echo "ok - skipped: making a repository another user's needs root"
	finish
fi
NOBODY=65534

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"

# owned REPO: the message naming REPO as another user's, with git's fix
owned() {
	echo "'$1' is owned by another user \(uid $NOBODY\); git refuses such a repository: git config --global --add safe.directory $1$"
}

# ---- no safe.directory at all ----
git init -q "$T/src"
git -C "$T/src" commit -q --allow-empty -m "first commit"
git clone -q --bare "$T/src" "$T/srv.git"
chown -R "$NOBODY:$NOBODY" "$T/srv.git"
check "git itself refuses it (dubious ownership)" \
	bash -c "! git -C '$T/srv.git' rev-parse --git-dir 2>/dev/null"
run zadig-hook install "$T/srv.git" --config "$CFG"
expect "install: another user's repository, said so with git's fix" 2 "" \
	"^zadig-hook: error: $(owned "$T/srv.git")"
check "install: not called 'not a git repository'" \
	bash -c "! grep -q 'not a git repository' '$T/err'"
check "install refused: no hook written" \
	test ! -e "$T/srv.git/hooks/post-receive"
check "install refused: no config recorded" \
	bash -c "! grep -q zadig '$T/srv.git/config'"
run_in "$T/srv.git" git zadig sync
expect "git zadig sync in it: said so with git's fix" 2 "" \
	"^git-zadig: error: $(owned "$T/srv.git")"
mkdir "$T/srv.git/refs/sub"
chown "$NOBODY:$NOBODY" "$T/srv.git/refs/sub"
run_in "$T/srv.git/refs/sub" git zadig status
expect "git zadig status below it: the repository's path, not '.'" 2 "" \
	"^git-zadig: error: $(owned "$T/srv.git")"

# a non-bare repository: git names (and lists) its work tree
git init -q "$T/work"
chown -R "$NOBODY:$NOBODY" "$T/work"
run_in "$T/work" git zadig sync
expect "non-bare: the work tree is named" 2 "" \
	"^git-zadig: error: $(owned "$T/work")"
run zadig-hook install "$T/work" --config "$CFG"
expect "non-bare: install names the work tree" 2 "" \
	"^zadig-hook: error: $(owned "$T/work")"

# ---- safe.directory lists another repository: still refused ----
git config --global --add safe.directory "$T/other.git"
run zadig-hook install "$T/srv.git" --config "$CFG"
expect "another repository listed: still said so" 2 "" \
	"^zadig-hook: error: $(owned "$T/srv.git")"

# ---- what is no repository at all is still called that ----
mkdir -p "$T/plain"
chown "$NOBODY:$NOBODY" "$T/plain"
run zadig-hook install "$T/plain" --config "$CFG"
expect "another user's plain directory: not a git repository" 2 "" \
	"^zadig-hook: error: '$T/plain' is not a git repository$"

# ---- listed by its path: opened, as git opens it ----
git config --global --add safe.directory "$T/srv.git"
run zadig-hook install "$T/srv.git" --config "$CFG"
expect "listed in safe.directory: installed" 0 \
	"^installed the post-receive hook in '$T/srv.git/hooks'$"
run_in "$T/srv.git" git zadig status
expect "listed in safe.directory: git zadig status reads it" 0

# ---- safe.directory as git reads it (git-config(1)) ----
# R: another user's repository (with a commit, for git zadig status)
R=$T/star.git
git clone -q --bare "$T/src" "$R"
chown -R "$NOBODY:$NOBODY" "$R"

# safe_dirs VALUE...: ~/.gitconfig's safe.directory list is VALUE...
safe_dirs() {
	local v
	git config --global --unset-all safe.directory
	for v in "$@"; do git config --global --add safe.directory "$v"; done
}

# verdict WANT NAME [GIT-OPTION...]: `git [GIT-OPTION...] zadig status` in
# $R opens it (WANT 0) or refuses it (WANT 2), as git itself does there
verdict() {
	local want=$1 name=$2 gitrc=0
	shift 2
	git "$@" -C "$R" rev-parse --git-dir >/dev/null 2>&1 || gitrc=2
	check "$name: git agrees" test "$gitrc" = "$want"
	run_in "$R" git "$@" zadig status
	if [ "$want" = 0 ]; then
		expect "$name: opened" 0
	else
		expect "$name: refused" 2 "" "$(owned "$R")"
	fi
}

safe_dirs '*'
verdict 0 "safe.directory = *"
run zadig-hook install "$R" --config "$CFG"
expect "safe.directory = *: install" 0 \
	"^installed the post-receive hook in '$R/hooks'$"
safe_dirs '*' ''
verdict 2 "'*' then an empty value (the list emptied)"
safe_dirs '*' "$T/other.git" ''
verdict 2 "'*', a path, then an empty value"
safe_dirs '' "$R"
verdict 0 "an empty value, then the path"
safe_dirs "%(prefix)/$R"
verdict 0 "%(prefix)/ and an absolute path"
safe_dirs
printf '[safe]\n\tdirectory = *\n' >"$T/safe.inc"
printf '[include]\n\tpath = %s\n' "$T/safe.inc" >>"$HOME/.gitconfig"
verdict 0 "'*' from an included file"
git config --global --unset include.path

# the other files git reads it from, and git's environment
mkdir -p "$HOME/.config/git"
printf '[safe]\n\tdirectory = *\n' >"$HOME/.config/git/config"
verdict 0 "'*' in ~/.config/git/config"
XDG_CONFIG_HOME=$T/xdg verdict 2 "XDG_CONFIG_HOME elsewhere"
mkdir -p "$T/xdg/git"
cp "$HOME/.config/git/config" "$T/xdg/git/config"
XDG_CONFIG_HOME=$T/xdg verdict 0 "'*' in \$XDG_CONFIG_HOME/git/config"
safe_dirs ''
verdict 2 "~/.gitconfig (read after it) empties the list"
rm -r "$HOME/.config/git" "$T/xdg"
safe_dirs
printf '[safe]\n\tdirectory = *\n' >"$T/global.config"
GIT_CONFIG_GLOBAL=$T/global.config verdict 0 "'*' in GIT_CONFIG_GLOBAL"
safe_dirs '*'
GIT_CONFIG_GLOBAL=/dev/null verdict 2 "GIT_CONFIG_GLOBAL=/dev/null: no ~/.gitconfig"
safe_dirs
GIT_CONFIG_NOSYSTEM= GIT_CONFIG_SYSTEM=$T/global.config \
	verdict 0 "'*' in the system config (GIT_CONFIG_SYSTEM)"
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_SYSTEM=$T/global.config \
	verdict 2 "GIT_CONFIG_NOSYSTEM=1: no system config"
verdict 0 "git -c safe.directory='*'" -c 'safe.directory=*'
verdict 0 "git -c safe.directory=<path>" -c "safe.directory=$R"
safe_dirs '*'
verdict 2 "git -c safe.directory= (after ~/.gitconfig)" -c safe.directory=
safe_dirs
GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=Safe.Directory GIT_CONFIG_VALUE_0="$R" \
	verdict 0 "GIT_CONFIG_COUNT, GIT_CONFIG_KEY_0, GIT_CONFIG_VALUE_0"
git --git-dir="$R" config safe.directory '*'
verdict 2 "the repository's own config is not read for it"
git --git-dir="$R" config --unset safe.directory
# a line without a value, which git reads as an empty one (libgit2 1.5.1
# crashed on it, checking another user's repository)
safe_dirs
printf '[safe]\n\tdirectory\n' >>"$HOME/.gitconfig"
verdict 2 "a safe.directory line without a value (the list emptied)"
printf '\tdirectory = %s\n' "$R" >>"$HOME/.gitconfig"
verdict 0 "a line without a value, then the path"
safe_dirs

# a path git quotes for git -c (a ' in it), and one below ~
Q=$T/"it's.git"
git clone -q --bare "$T/src" "$Q"
chown -R "$NOBODY:$NOBODY" "$Q"
run_in "$Q" git -c "safe.directory=$Q" zadig status
expect "git -c safe.directory=<a path with a quote>" 0
git clone -q --bare "$T/src" "$HOME/home.git"
chown -R "$NOBODY:$NOBODY" "$HOME/home.git"
R=$HOME/home.git
safe_dirs '~/home.git'
verdict 0 "~/ below HOME"
safe_dirs "~root/home.git"
verdict 2 "~root/ is root's home directory, not \$HOME"

# ---- root installs into the repository of the git service user ----
# What install creates (hooks/, the hook, the config libgit2 rewrites)
# goes to the repository's owner, who pushes (git runs the hook as the
# pushing user) and must be able to install again.
O=$T/own.git
git init -q --bare "$O"
rm -r "$O/hooks"
chown -R "$NOBODY:$NOBODY" "$O"
safe_dirs "$O"
run zadig-hook install "$O" --config "$CFG"
expect "root installs into another user's repository" 0 \
	"^installed the post-receive hook in '$O/hooks'$"
for f in hooks hooks/post-receive config; do
	check "root's install: $f is the repository owner's" \
		test "$(stat -c %u:%g "$O/$f")" = "$NOBODY:$NOBODY"
done
check "root's install: no temporary file left" \
	test ! -e "$O/hooks/post-receive.tmp"

# as the owner (who can reach $T and has a home): push, install again
chmod 711 "$T"
mkdir "$T/nobody"
chown "$NOBODY:$NOBODY" "$T/nobody"
as_owner() {
	setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
		env HOME="$T/nobody" "$@"
}
as_owner git clone -q "file://$O" "$T/nobody/clone" 2>/dev/null
as_owner git -C "$T/nobody/clone" -c user.name=n -c user.email=n@e \
	commit -q --allow-empty -m "the owner's commit"
run as_owner git -C "$T/nobody/clone" push origin HEAD:main
expect "the owner pushes: the hook runs and triggers" 0 "" \
	"remote: zadig: dev: wf-dev #[0-9]+ created"
run as_owner zadig-hook install "$O" --config "$CFG"
expect "the owner installs again over root's install" 0 "\(updated\)"

hook_finish
