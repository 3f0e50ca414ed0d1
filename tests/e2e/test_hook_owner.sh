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

finish
