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

hook_finish
