#!/bin/bash
# The program the installed hook runs goes away (a new PREFIX, a versioned
# install whose link now points at a new release, an uninstall): install
# records the path it was run by (a stable link) rather than the file it
# resolves to, and a hook whose zadig-hook is gone still runs the chained
# hook, with the push on its stdin, says why nothing was triggered, and
# exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"

# a versioned install: $T/bin/zadig-hook -> $T/opt/v1/bin/zadig-hook
mkdir -p "$T/opt/v1/bin" "$T/bin"
cp "$(command -v zadig-hook)" "$T/opt/v1/bin/zadig-hook"
ln -s "$T/opt/v1/bin/zadig-hook" "$T/bin/zadig-hook"

# ch.git has a hook of the admin's, chained by install
git init -q --bare "$T/ch.git"
cat >"$T/ch.git/hooks/post-receive" <<SH
#!/bin/sh
cat >>"$T/chained.stdin"
echo "admin hook ran" >&2
exit 3
SH
chmod +x "$T/ch.git/hooks/post-receive"
run "$T/bin/zadig-hook" install "$T/ch.git" --config "$CFG"
expect "install by the link's absolute path" 0 "chained as hooks/post-receive.zadig-chained"
check "the hook runs zadig-hook by the link, not the file it resolves to" \
	grep -qF "'$T/bin/zadig-hook'" "$T/ch.git/hooks/post-receive"
check "the release's own path is not in the hook" \
	bash -c "! grep -qF '$T/opt/' '$T/ch.git/hooks/post-receive'"

# plain.git has no other hook; install found on PATH, by name
git init -q --bare "$T/plain.git"
run env PATH="$T/bin:$PATH" zadig-hook install "$T/plain.git" --config "$CFG"
expect "install found on PATH" 0 "installed the post-receive hook"
check "install found on PATH: the hook names the PATH entry (the link)" \
	grep -qF "'$T/bin/zadig-hook'" "$T/plain.git/hooks/post-receive"

# run by a path that is not this program (another file first on PATH):
# the file that runs is recorded
mkdir -p "$T/decoy"
printf '#!/bin/sh\nexit 0\n' >"$T/decoy/zadig-hook"
chmod +x "$T/decoy/zadig-hook"
git init -q --bare "$T/decoy.git"
run env PATH="$T/decoy:$PATH" "$T/opt/v1/bin/zadig-hook" install "$T/decoy.git" --config "$CFG"
expect "install by the release's path" 0 "installed"
check "install by the release's path records that path" \
	grep -qF "'$T/opt/v1/bin/zadig-hook'" "$T/decoy.git/hooks/post-receive"
run env PATH="$T/decoy:$PATH" bash -c "exec -a zadig-hook '$T/opt/v1/bin/zadig-hook' install '$T/decoy.git' --config '$CFG'"
expect "install whose name on PATH is another program" 0 "updated"
check "another program first on PATH is not recorded" \
	bash -c "! grep -qF '$T/decoy/' '$T/decoy.git/hooks/post-receive'"

git clone -q "file://$T/ch.git" "$T/ch" 2>/dev/null
git clone -q "file://$T/plain.git" "$T/plain" 2>/dev/null
commit "$T/ch" "first"
hrun git -C "$T/ch" push origin main
expect "a push through the link" 0 "" "remote: zadig: dev: wf-dev #1 created"
check "the admin's hook ran" grep -q "remote: admin hook ran" "$T/err"

# an upgrade: the link points at v2, v1 is removed
check "pollers done before the upgrade" wait_pollers 20
mkdir -p "$T/opt/v2/bin"
cp "$(command -v zadig-hook)" "$T/opt/v2/bin/zadig-hook"
ln -sfn "$T/opt/v2/bin/zadig-hook" "$T/bin/zadig-hook"
rm -rf "$T/opt/v1"
commit "$T/ch" "after the upgrade"
hrun git -C "$T/ch" push origin main
expect "a push after the link moved to a new release" 0 "" \
	"remote: zadig: dev: wf-dev #2 created"
check "after the upgrade: no 'not found'" bash -c "! grep -q 'not found' '$T/err'"

# zadig-hook is gone altogether
check "pollers done before zadig-hook goes" wait_pollers 20
rm -rf "$T/opt/v2" "$T/bin/zadig-hook"
: >"$T/chained.stdin"
commit "$T/ch" "zadig-hook gone"
c=$(git -C "$T/ch" rev-parse HEAD)
old=$(git --git-dir="$T/ch.git" rev-parse main)
hrun git -C "$T/ch" push origin main
expect "zadig-hook gone: the push succeeds" 0 "" \
	"^remote: zadig: '$T/bin/zadig-hook' is missing or not executable: nothing triggered; run 'zadig-hook install' on this repository again"
check "zadig-hook gone: the admin's hook still runs" \
	grep -q "remote: admin hook ran" "$T/err"
check "zadig-hook gone: the admin's hook got the push on its stdin" \
	test "$(cat "$T/chained.stdin")" = "$old $c refs/heads/main"
check "zadig-hook gone: no shell error" bash -c "! grep -qE 'not found|No such file' '$T/err'"
check "zadig-hook gone: the ref arrived" \
	test "$(git --git-dir="$T/ch.git" rev-parse main)" = "$c"
commit "$T/plain" "plain, zadig-hook gone"
hrun git -C "$T/plain" push origin main
expect "zadig-hook gone, nothing chained: the push succeeds" 0 "" \
	"^remote: zadig: '$T/bin/zadig-hook' is missing or not executable: nothing triggered"
check "zadig-hook gone, nothing chained: no shell error" \
	bash -c "! grep -qE 'not found|No such file' '$T/err'"
# the hook script itself, as git runs it: exit 0 (the admin's hook exits 3)
printf '%s %s refs/heads/main\n' "$old" "$c" >"$T/lines"
RC=0
(cd "$T/ch.git" && GIT_DIR=. ./hooks/post-receive <"$T/lines") >/dev/null 2>&1 || RC=$?
check "zadig-hook gone: the hook script exits 0 (got $RC)" test "$RC" = 0
check "only the two pushes made with zadig-hook there reached the fake" \
	test "$(creates wf-dev)" = 2

# ---- zadig-hook there but it cannot start: the chained hook still runs ----
# (a library an upgrade removed: the loader says so and exits 127; a bad
# interpreter: the shell says "not found", 127), under /bin/sh, with
# paths holding spaces, quotes and $
W="$T/we ird'q\$x \"d\""
# WR: W as a grep -E pattern
WR=$(printf '%s' "$W" | sed 's/[][\.*^$(){}?+|]/\\&/g')
mkdir -p "$W/bin"
cp "$(command -v zadig-hook)" "$W/bin/zadig-hook"
git init -q --bare "$W/ch.git"
cat >"$W/ch.git/hooks/post-receive" <<SH
#!/bin/sh
cat >>"$T/w.stdin"
echo "admin hook ran" >&2
exit 3
SH
chmod +x "$W/ch.git/hooks/post-receive"
run "$W/bin/zadig-hook" install "$W/ch.git" --config "$CFG"
expect "install from and into paths with spaces, quotes and \$" 0 "chained as"
git clone -q "file://$W/ch.git" "$T/w" 2>/dev/null
commit "$T/w" "first"
: >"$T/w.stdin"
hrun git -C "$T/w" push origin main
expect "odd paths: a push triggers" 0 "" "remote: zadig: dev: wf-dev #[0-9]+ created"
check "odd paths: the admin's hook got the push once" \
	test "$(wc -l <"$T/w.stdin")" = 1
n=$(creates wf-dev)

# cannot_start NAME: a push while $W/bin/zadig-hook cannot start
cannot_start() {
	: >"$T/w.stdin"
	commit "$T/w" "$1"
	local c old
	c=$(git -C "$T/w" rev-parse HEAD)
	old=$(git --git-dir="$W/ch.git" rev-parse main)
	hrun git -C "$T/w" push origin main
	expect "$1: the push succeeds, said" 0 "" \
		"^remote: zadig: '$WR/bin/zadig-hook' could not start \(exit 127, see above\): nothing triggered; reinstall zadig-hook, or run 'zadig-hook install' on this repository again"
	check "$1: the admin's hook ran" grep -q "remote: admin hook ran" "$T/err"
	check "$1: the admin's hook got the push on its stdin" \
		test "$(cat "$T/w.stdin")" = "$old $c refs/heads/main"
	check "$1: the ref arrived" \
		test "$(git --git-dir="$W/ch.git" rev-parse main)" = "$c"
	check "$1: nothing reached the fake" test "$(creates wf-dev)" = "$n"
	printf '%s %s refs/heads/main\n' "$old" "$c" >"$T/lines"
	RC=0
	(cd "$W/ch.git" && GIT_DIR=. /bin/sh ./hooks/post-receive <"$T/lines") \
		>/dev/null 2>&1 || RC=$?
	check "$1: the hook script exits 0 under /bin/sh (got $RC)" test "$RC" = 0
}
check "pollers done before zadig-hook breaks" wait_pollers 20
printf '#!/nonexistent/interpreter\n' >"$W/bin/zadig-hook"
chmod +x "$W/bin/zadig-hook"
cannot_start "a bad interpreter"
printf '#!/bin/sh\necho "zadig-hook: error while loading shared libraries: libgit2.so.1.5: cannot open shared object file: No such file or directory" >&2\nexit 127\n' >"$W/bin/zadig-hook"
cannot_start "a library missing"
check "a library missing: the loader's line reaches the pusher" \
	grep -q "remote: zadig-hook: error while loading shared libraries" "$T/err"
# the chained hook gone too: said as zadig-hook says it
mv "$W/ch.git/hooks/post-receive.zadig-chained" "$T/chained.aside"
commit "$T/w" "nothing runs"
hrun git -C "$T/w" push origin main
expect "cannot start, chained hook gone: said" 0 "" \
	"^remote: zadig: the chained hook '(.*/)?hooks/post-receive\.zadig-chained' is missing: it did not run"
check "cannot start, chained hook gone: no shell error" \
	bash -c "! grep -qE 'zadig-chained: (not found|No such file)' '$T/err'"
mv "$T/chained.aside" "$W/ch.git/hooks/post-receive.zadig-chained"
# zadig-hook started and was killed: its input may be half read, so the
# chained hook does not run again; git says how it ended, as without the
# script
printf '#!/bin/sh\nkill -9 $$\n' >"$W/bin/zadig-hook"
: >"$T/w.stdin"
commit "$T/w" "killed"
hrun git -C "$T/w" push origin main
expect "zadig-hook killed: the push succeeds" 0 "" "post-receive died of signal 9"
check "zadig-hook killed: the chained hook is not run by the script" \
	test ! -s "$T/w.stdin"
check "zadig-hook killed: no 'could not start'" \
	bash -c "! grep -q 'could not start' '$T/err'"

hook_finish
