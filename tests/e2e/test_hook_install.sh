#!/bin/bash
# zadig-hook install: idempotent, refuses what is not a repository, chains
# or (--force) replaces an existing post-receive without ever overwriting
# one it set aside, follows core.hooksPath, records zadig.config and
# receive.advertisePushOptions; SHA-256 repositories get a clear answer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL"

run zadig-hook --version
expect "version" 0 "^zadig-hook [0-9]"
run zadig-hook --help
expect "--help names install, post-receive, poll" 0 "zadig-hook install <repo.git>"
run zadig-hook
expect "no verb is a usage error" 2 "" "usage: zadig-hook install"
run zadig-hook frob
expect "unknown verb" 2 "" "^zadig-hook: error: unknown verb 'frob'$"
run zadig-hook install
expect "install without a repository" 2 "" "usage: zadig-hook install"

# ---- a fresh install, then again ----
git init -q --bare "$T/app.git"
run zadig-hook install "$T/app.git" --config "$CFG"
expect "install" 0 "^installed the post-receive hook in '$T/app.git/hooks'$"
check "install prints the recorded config" grep -qx "recorded zadig.config = $CFG" "$T/out"
check "the hook is executable" test -x "$T/app.git/hooks/post-receive"
check "the hook runs zadig-hook post-receive" \
	bash -c "grep -qx \"z='\$(command -v zadig-hook)'\" '$T/app.git/hooks/post-receive' &&
		grep -qx '	\"\$z\" post-receive' '$T/app.git/hooks/post-receive'"
cp "$T/app.git/hooks/post-receive" "$T/hook.first"
check "git config zadig.config is the absolute config path" \
	test "$(git --git-dir="$T/app.git" config zadig.config)" = "$CFG"
check "receive.advertisePushOptions is set (push -o reaches the hook)" \
	test "$(git --git-dir="$T/app.git" config --bool receive.advertisePushOptions)" = true
run zadig-hook install "$T/app.git" --config "$CFG"
expect "install again" 0 "\(updated\)"
check "install again: the same hook" cmp -s "$T/hook.first" "$T/app.git/hooks/post-receive"
check "install again: nothing chained (no loop onto itself)" \
	test ! -e "$T/app.git/hooks/post-receive.zadig-chained"
check "install again: no temporary file left" \
	test ! -e "$T/app.git/hooks/post-receive.tmp"

# a symlink planted at the temporary name (the repository's owner can
# write hooks/; root installs): install writes its own file, never
# through the link
printf 'victim\n' >"$T/victim"
chmod 0600 "$T/victim"
ln -s "$T/victim" "$T/app.git/hooks/post-receive.tmp"
run zadig-hook install "$T/app.git" --config "$CFG"
expect "install over a symlink at the temporary name" 0 "\(updated\)"
check "the symlink's target is not written" \
	test "$(cat "$T/victim")" = victim
check "the symlink's target keeps its mode" \
	test "$(stat -c %a "$T/victim")" = 600
check "the hook is still ours, a file, executable" \
	bash -c "test ! -L '$T/app.git/hooks/post-receive' && test -x '$T/app.git/hooks/post-receive' && cmp -s '$T/hook.first' '$T/app.git/hooks/post-receive'"
check "no temporary name left" \
	test ! -e "$T/app.git/hooks/post-receive.tmp" -a ! -L "$T/app.git/hooks/post-receive.tmp"

git clone -q "file://$T/app.git" "$T/app-clone" 2>/dev/null
commit "$T/app-clone" "for timing"

# relative --config is recorded absolute
(cd "$T" && zadig-hook install app.git --config config.yaml >/dev/null)
check "relative --config recorded as an absolute path" \
	test "$(git --git-dir="$T/app.git" config zadig.config)" = "$CFG"

# ---- what is not a repository ----
mkdir -p "$T/plain"
run zadig-hook install "$T/plain" --config "$CFG"
expect "a plain directory is refused" 2 "" \
	"^zadig-hook: error: '$T/plain' is not a git repository$"
check "refused: no hook written into it" test ! -e "$T/plain/hooks"
run zadig-hook install "$T/nowhere.git" --config "$CFG"
expect "a missing path is refused" 2 "" "'$T/nowhere.git' is not a git repository"
run zadig-hook install "$T/app.git" --config "$T/nope.yaml"
expect "a missing config is refused" 2 "" "nope.yaml"
printf 'zadig:\n  url: http://x\n  token: t\n  bogus: 1\n' >"$T/bad.yaml"
run zadig-hook install "$T/app.git" --config "$T/bad.yaml"
expect "an invalid config is refused with its position" 2 "" "bad.yaml:4:"
check "a refused config is not recorded" \
	test "$(git --git-dir="$T/app.git" config zadig.config)" = "$CFG"

# a non-bare repository gets the hook in .git/hooks
git init -q "$T/work"
run zadig-hook install "$T/work" --config "$CFG"
expect "a non-bare repository" 0 "in '$T/work/.git/hooks'"
check "non-bare: hook in .git/hooks" test -x "$T/work/.git/hooks/post-receive"

# ---- chaining an existing post-receive ----
git init -q --bare "$T/chain.git"
cat >"$T/chain.git/hooks/post-receive" <<SH
#!/bin/sh
cat >>"$T/chained.stdin"
echo "old hook ran" >&2
exit 3
SH
chmod +x "$T/chain.git/hooks/post-receive"
run zadig-hook install "$T/chain.git" --config "$CFG"
expect "install over a foreign hook chains it" 0 "chained as hooks/post-receive.zadig-chained"
check "the old hook is kept as post-receive.zadig-chained" \
	grep -q "old hook ran" "$T/chain.git/hooks/post-receive.zadig-chained"
run zadig-hook install "$T/chain.git" --config "$CFG"
expect "reinstall keeps the chain" 0 "updated; the chained hooks/post-receive.zadig-chained still runs"
check "reinstall: the chain is still named in the hook" \
	grep -qx -- '	"$z" post-receive --chain "$c"' "$T/chain.git/hooks/post-receive"
check "reinstall: the chain is the hook beside the script" \
	grep -qx -- 'c=$d/post-receive.zadig-chained' "$T/chain.git/hooks/post-receive"
check "the chained hook is named by its place beside the hook, not by an absolute path" \
	bash -c "! grep -qF '$T/' '$T/chain.git/hooks/post-receive'"

git clone -q "file://$T/chain.git" "$T/chain" 2>/dev/null
commit "$T/chain" "chained push"
c1=$(git -C "$T/chain" rev-parse HEAD)
hrun git -C "$T/chain" push origin main
expect "push through a chained hook" 0 "" "remote: zadig: dev: wf-dev #1 created http://127.0.0.1:$FAKE_PORT/"
check "the old hook still runs" grep -q "remote: old hook ran" "$T/err"
check "the old hook got the same stdin" \
	test "$(cat "$T/chained.stdin")" = "$(printf '%040d %s refs/heads/main' 0 "$c1")"
commit "$T/chain" "second chained push"
c2=$(git -C "$T/chain" rev-parse HEAD)
git -C "$T/chain" tag v9
hrun git -C "$T/chain" push origin main v9
expect "two refs through a chained hook" 0 "" "wf-dev #2 created"
check "the old hook got both lines, in order" \
	test "$(tail -n 2 "$T/chained.stdin")" = "$(printf '%s %s refs/heads/main\n%040d %s refs/tags/v9' "$c1" "$c2" 0 "$c2")"

# ---- --force replaces a foreign hook, keeping a backup ----
git init -q --bare "$T/force.git"
cat >"$T/force.git/hooks/post-receive" <<SH
#!/bin/sh
touch "$T/foreign.ran"
SH
chmod +x "$T/force.git/hooks/post-receive"
cp "$T/force.git/hooks/post-receive" "$T/foreign.orig"
run zadig-hook install "$T/force.git" --config "$CFG" --force
expect "--force replaces a foreign hook" 0 "replaced; kept as hooks/post-receive.zadig-backup"
check "--force: the foreign hook is kept as a backup" \
	cmp -s "$T/foreign.orig" "$T/force.git/hooks/post-receive.zadig-backup"
check "--force: the new hook is ours and chains nothing" \
	bash -c "grep -q 'managed by .zadig-hook install' '$T/force.git/hooks/post-receive' && ! grep -q -- --chain '$T/force.git/hooks/post-receive'"
git clone -q "file://$T/force.git" "$T/force" 2>/dev/null
commit "$T/force" "forced"
hrun git -C "$T/force" push origin main
expect "push after --force" 0 "" "remote: zadig: dev: wf-dev #3 created"
check "--force: the foreign hook no longer runs" test ! -e "$T/foreign.ran"

# ---- core.hooksPath: the hook goes where git runs hooks from ----
# relative: git runs a push's hooks in the git dir, so relative to that
git init -q --bare "$T/hp.git"
git --git-dir="$T/hp.git" config core.hooksPath custom-hooks
run zadig-hook install "$T/hp.git" --config "$CFG"
expect "core.hooksPath (relative): installed there" 0 \
	"^installed the post-receive hook in '$T/hp.git/custom-hooks'$"
check "core.hooksPath: nothing written to hooks/ (git does not look)" \
	test ! -e "$T/hp.git/hooks/post-receive"
check "core.hooksPath inside the repository: no note of other repositories" \
	bash -c "! grep -q 'every repository' '$T/out'"
git clone -q "file://$T/hp.git" "$T/hp" 2>/dev/null
commit "$T/hp" "hooksPath push"
hrun git -C "$T/hp" push origin main
expect "push to a repository with core.hooksPath runs the hook" 0 "" \
	"remote: zadig: dev: wf-dev #4 created"
git init -q "$T/work2"
git -C "$T/work2" config core.hooksPath rel-hooks
run zadig-hook install "$T/work2" --config "$CFG"
expect "core.hooksPath (relative, non-bare): the git dir, where push hooks run" 0 \
	"^installed the post-receive hook in '$T/work2/.git/rel-hooks'$"
# global, "~/": a directory every repository shares
git config --global core.hooksPath "~/shared-hooks"
git init -q --bare "$T/glob.git"
run zadig-hook install "$T/glob.git" --config "$CFG"
expect "core.hooksPath (global, ~/): installed there" 0 \
	"^installed the post-receive hook in '$HOME/shared-hooks'$"
check "core.hooksPath outside the repository: a note says who else runs it" \
	grep -q "every repository using that core.hooksPath runs this hook" "$T/out"
check "core.hooksPath (global): nothing written to hooks/" \
	test ! -e "$T/glob.git/hooks/post-receive"
git clone -q "file://$T/glob.git" "$T/glob" 2>/dev/null
commit "$T/glob" "global hooksPath push"
hrun git -C "$T/glob" push origin main
expect "push with a global core.hooksPath runs the hook" 0 "" \
	"remote: zadig: dev: wf-dev #5 created"
git config --global --unset core.hooksPath

# ---- the chained hook moves with the repository (GitLab's hashed storage
# moves them); a copy runs its own ----
check "pollers done before the repository moves" wait_pollers 20
mv "$T/chain.git" "$T/moved it's.git"
git -C "$T/chain" remote set-url origin "$T/moved it's.git"
commit "$T/chain" "push after a move"
hrun git -C "$T/chain" push origin main
expect "push to a moved repository" 0 "" "remote: zadig: dev: wf-dev #6 created"
check "moved: the chained hook still runs" grep -q "remote: old hook ran" "$T/err"
check "pollers done before the repository is copied" wait_pollers 20
cp -R "$T/moved it's.git" "$T/copy.git"
sed -i 's/old hook ran/copy hook ran/' "$T/copy.git/hooks/post-receive.zadig-chained"
hrun git -C "$T/chain" push "$T/copy.git" HEAD:refs/heads/nomatch-1
expect "push to a copy" 0 "" "remote: zadig: no rule matches refs/heads/nomatch-1"
check "copy: its own chained hook runs" grep -q "remote: copy hook ran" "$T/err"
check "copy: not the original's" bash -c "! grep -q 'old hook ran' '$T/err'"
chmod -x "$T/copy.git/hooks/post-receive.zadig-chained"
hrun git -C "$T/chain" push "$T/copy.git" HEAD:refs/heads/nomatch-2
expect "a chained hook that is not executable is named" 0 "" \
	"^remote: zadig: the chained hook '.*post-receive.zadig-chained' is not executable"
rm "$T/copy.git/hooks/post-receive.zadig-chained"
hrun git -C "$T/chain" push "$T/copy.git" HEAD:refs/heads/nomatch-3
expect "a missing chained hook is named" 0 "" \
	"^remote: zadig: the chained hook '.*post-receive.zadig-chained' is missing"
check "the push still reaches zadig-hook" grep -q "remote: zadig: no rule matches refs/heads/nomatch-3" "$T/err"

# a hook an older install wrote names the chained hook by absolute path
git init -q --bare "$T/old.git"
git --git-dir="$T/old.git" config zadig.config "$CFG"
printf '#!/bin/sh\necho "older chained ran" >&2\n' \
	>"$T/old.git/hooks/post-receive.zadig-chained"
chmod +x "$T/old.git/hooks/post-receive.zadig-chained"
cat >"$T/old.git/hooks/post-receive" <<SH
#!/bin/sh
# zadig-hook: managed by \`zadig-hook install\`
# Reinstall with it; do not edit. Push data reaches zadig-hook on stdin only.
exec '$(command -v zadig-hook)' post-receive --chain '$T/old.git/hooks/post-receive.zadig-chained'
SH
chmod +x "$T/old.git/hooks/post-receive"
hrun git -C "$T/chain" push "$T/old.git" HEAD:refs/heads/nomatch-4
expect "an older hook still runs its chained hook" 0 "" "remote: older chained ran"
run zadig-hook install "$T/old.git"
expect "reinstall over an older hook keeps the chain" 0 \
	"updated; the chained hooks/post-receive.zadig-chained still runs"
check "reinstall over an older hook: no absolute path left" \
	bash -c "! grep -qF '$T/' '$T/old.git/hooks/post-receive'"
hrun git -C "$T/chain" push "$T/old.git" HEAD:refs/heads/nomatch-5
expect "reinstalled: the chained hook still runs" 0 "" "remote: older chained ran"

# ---- install never overwrites a hook an earlier install set aside ----
git init -q --bare "$T/twice.git"
H=$T/twice.git/hooks
printf '#!/bin/sh\necho hook-A >&2\n' >"$H/post-receive"
chmod +x "$H/post-receive"
run zadig-hook install "$T/twice.git" --config "$CFG"
expect "hook A is chained" 0 "chained as hooks/post-receive.zadig-chained"
# someone puts another foreign hook over ours
printf '#!/bin/sh\necho hook-B >&2\n' >"$H/post-receive"
chmod +x "$H/post-receive"
run zadig-hook install "$T/twice.git" --config "$CFG"
expect "a second foreign hook while one is chained is refused" 2 "" \
	"^zadig-hook: error: .*'$H/post-receive'.*'$H/post-receive.zadig-chained'.*--force"
check "refused: hook A is still the chained hook" \
	grep -q hook-A "$H/post-receive.zadig-chained"
check "refused: hook B is still post-receive" grep -q hook-B "$H/post-receive"
check "refused: no other file in hooks/" \
	test "$(ls "$H" | grep -c post-receive)" = 2
# --force again and again: each foreign hook gets a backup of its own
git init -q --bare "$T/bk.git"
H=$T/bk.git/hooks
for h in C D E; do
	printf '#!/bin/sh\necho hook-%s\n' "$h" >"$H/post-receive"
	chmod +x "$H/post-receive"
	run zadig-hook install "$T/bk.git" --config "$CFG" --force
	case $h in
	C) b=post-receive.zadig-backup ;;
	D) b=post-receive.zadig-backup.1 ;;
	E) b=post-receive.zadig-backup.2 ;;
	esac
	expect "--force over hook $h: kept as $b" 0 \
		"replaced; kept as hooks/$b\)$"
	check "--force over hook $h: $b holds it" grep -q "hook-$h" "$H/$b"
done
check "--force: hook C's backup survived" \
	grep -q hook-C "$H/post-receive.zadig-backup"
check "--force: hook D's backup survived" \
	grep -q hook-D "$H/post-receive.zadig-backup.1"

# ---- SHA-256 repositories (libgit2 1.5 reads SHA-1 only) ----
# libgit2 1.5 itself leaks its config regex match data when it refuses the
# objectformat extension (git_repository_open_ext -> git_config_foreach_match
# stops early): not ours, so suppressed for this section only.
printf 'leak:git_config_foreach_match\n' >"$T/lsan.supp"
export LSAN_OPTIONS=suppressions=$T/lsan.supp ASAN_OPTIONS=fast_unwind_on_malloc=0
git init -q --bare --object-format=sha256 "$T/sha.git"
run zadig-hook install "$T/sha.git" --config "$CFG"
expect "install into a SHA-256 repository says why it cannot" 1 "" \
	"^zadig-hook: error: '$T/sha.git' uses SHA-256 object ids"
# a hook put there by other means (a hooks template, core.hooksPath)
cp "$T/app.git/hooks/post-receive" "$T/sha.git/hooks/post-receive"
git -C "$T/sha.git" config zadig.config "$CFG"
git init -q --object-format=sha256 "$T/sha"
commit "$T/sha" "sha-256 commit"
baseline_push "$T/app-clone"
timed_push "$T/sha" "file://$T/sha.git" HEAD:main
expect "push to a SHA-256 repository succeeds" 0 "" \
	"remote: zadig: this repository uses SHA-256 object ids, which zadig-hook cannot read .*; nothing triggered"
check "SHA-256: the push does not hang (${TOOK}ms, a push that sends nothing ${BASE}ms)" \
	test "$TOOK" -lt $((2 * BASE + 3000))
unset LSAN_OPTIONS ASAN_OPTIONS
check "SHA-256: the ref arrived" test -n "$(git --git-dir="$T/sha.git" rev-parse -q --verify refs/heads/main)"

check "nothing but the six pushes reached the fake" test "$(creates wf-dev)" = 6

# zadig.config as git reads a path, in the hook and its async path too:
# "~/" is $HOME, a relative one starts in the (bare) git dir
cp "$CFG" "$HOME/home.yaml"
hook_config "$T/async.yaml" "$FAKE_URL" async
k=0
Z="remote: zadig:"
for v in '~/home.yaml' 'rel.yaml'; do
	n=cfgpath$((++k))
	new_repo $n "$CFG"
	cp "$T/async.yaml" "$T/$n.git/rel.yaml"
	git --git-dir="$T/$n.git" config zadig.config "$v"
	hrun git -C "$T/$n" push origin main
	if [ "$v" = rel.yaml ]; then
		expect "zadig.config '$v' (async): queued" 0 "" \
			"^$Z refs/heads/main queued \(async\)"
		check "zadig.config '$v' (async): delivered" \
			wait_note "$T/$n.git" main "^(created|running|passed) wf-dev " 10
	else
		expect "zadig.config '$v': the hook reads it" 0 "" \
			"^$Z dev: wf-dev #[0-9]+ created"
	fi
done
hook_finish
