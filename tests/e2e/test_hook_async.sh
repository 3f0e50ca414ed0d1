#!/bin/bash
# hook.mode: async: the hook only spools the push and starts the poller
# (without opening the repository or the store); the poller (zadig-hook
# poll) reads the commits, fires the rules, writes the notes and delivers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/async.yaml
hook_config "$CFG" "$FAKE_URL" async
Z="remote: zadig:"
Q="queued \\(async\\); status: git fetch, then git zadig status *$"

new_repo app "$CFG"
W=$T/app
G=$T/app.git
# wait_gone FILE: until FILE is gone (10 s)
wait_gone() {
	for _ in $(seq 100); do [ -e "$1" ] || return 0; sleep 0.1; done
	return 1
}
spooled() { find "$G/zadig-hook/spool" -type f 2>/dev/null | wc -l; }

# refers PROGRAM SYMBOL: PROGRAM's code calls SYMBOL, or its data holds
# SYMBOL's address (a relocation), as libgit2's table of set-up functions
refers() {
	local at
	at=$(nm "$1" | awk -v s="$2" '$3 == s { sub(/^0+/, "", $1); print $1 }')
	[ -n "$at" ] || return 1
	readelf -rW "$1" | grep -qE " $at\$" ||
		objdump -d "$1" | grep -qE "\s(call|jmp)\s+$at <"
}

# gitrepo/local_only.c in effect in program $1: linked with libgit2's
# shared library, its own definitions are exported in the library's
# place; linked with the archives (CMakeLists.txt, ZH_STATIC_DEPS),
# libgit2 calls its __wrap_ definitions, never mbedTLS's set-up, and its
# SSH transport, libssh2 and OpenSSL are not in the program at all.
skips_transport_setup() {
	[ "$(nm -D --defined-only "$1" |
		grep -cE ' T (libssh2_init|mbedtls_x509_crt_parse_file)$')" = 2 ] &&
		return 0
	refers "$1" __wrap_git_mbedtls_stream_global_init &&
		! refers "$1" git_mbedtls_stream_global_init &&
		! nm "$1" | grep -qE ' T (libssh2_session_init_ex|EVP_sha256|OPENSSL_init_crypto)$'
}

check "install: the hook script runs the zadig-hook on PATH" \
	grep -qxF "z='$(command -v zadig-hook)'" "$G/hooks/post-receive"
check "the hook program does not link libcurl (it loads it to send)" \
	bash -c "ldd '$(command -v zadig-hook)' >/dev/null && ! ldd '$(command -v zadig-hook)' | grep -q libcurl &&
		! nm '$(command -v zadig-hook)' | grep -qE ' [TU] curl_easy_init$'"

# ---- a push with a rule: queued now, delivered and noted by the poller ----
hrun git -C "$W" push origin main
expect "async push" 0 "" "^$Z refs/heads/main $Q"
check "async push: one zadig line" test "$(grep -c "$Z" "$T/err")" = 1
check "async push: the poller notes it and it ends passed" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$"
check "async push: one create" test "$(creates wf-dev)" = 1
check "async push: the spool is empty again" test "$(spooled)" = 0
check "async push: the poller logged the fired rule" \
	grep -qE "app refs/heads/main [0-9a-f]{12}: 1 rule\(s\) fired, first dev \(wf-dev\)" "$G/zadig-hook/poller.log"

# ---- a killed hook's temporary spool file: removed once stale ----
touch -d '2 hours ago' "$G/zadig-hook/spool/tmp-stale"
touch "$G/zadig-hook/spool/tmp-fresh"
commit "$W" "after a killed hook"
hrun git -C "$W" push origin main
check "stale temporary spool file: the poller removes it" \
	wait_gone "$G/zadig-hook/spool/tmp-stale"
check "fresh temporary spool file: kept (a hook may be writing it)" \
	test -e "$G/zadig-hook/spool/tmp-fresh"
rm -f "$G/zadig-hook/spool/tmp-fresh"
check "after a killed hook: the push is delivered" \
	wait_note "$G" main "^passed wf-dev #[0-9]+ "

# ---- two refs in one push ----
git -C "$W" branch -q feature/a
git -C "$W" tag v1.0
commit "$W" "two refs"
hrun git -C "$W" push origin main v1.0
expect "two refs: main queued" 0 "" "^$Z refs/heads/main $Q"
expect "two refs: the tag queued" 0 "" "^$Z refs/tags/v1.0 $Q"
check "two refs: the tag's rule fires" wait_note "$G" v1.0 "^passed wf-release #[0-9]+ "
check "two refs: main's new commit fires" wait_note "$G" main "^passed wf-dev #[0-9]+ "
check "two refs: two more creates" test "$(($(creates wf-dev) + $(creates wf-release)))" = 4

# ---- nothing queued: no rule, push options ----
git -C "$W" branch -q other
hrun git -C "$W" push origin other
expect "no rule matches (said at push time)" 0 "" "^$Z no rule matches refs/heads/other *$"
check "no rule: nothing spooled" test "$(spooled)" = 0
commit "$W" "skipped by option"
hrun git -C "$W" push -o ci.skip origin main
expect "push -o ci.skip" 0 "" "^$Z refs/heads/main skipped \(push option ci.skip or zadig.skip\)"
git -C "$W" checkout -q -b feature/zs
commit "$W" "skipped by the other option"
hrun git -C "$W" push -o x=1 -o zadig.skip origin feature/zs
expect "push -o zadig.skip among others" 0 "" "^$Z refs/heads/feature/zs skipped"
# a skip marker needs the commit: the poller sees it
commit "$W" "a change [skip ci]"
hrun git -C "$W" push origin feature/zs
expect "[skip ci]: queued at push time" 0 "" "^$Z refs/heads/feature/zs $Q"
check "[skip ci]: the poller fires nothing" \
	wait_for_log "$G" "app refs/heads/feature/zs [0-9a-f]{12}: no rule fired"
check "pollers done" wait_pollers 20
check "skips: no create beyond the four" test "$(($(creates wf-dev) + $(creates wf-release)))" = 4
check "skips: no note on the skipped commits" test -z "$(note "$G" feature/zs)"
git -C "$W" checkout -q main

# ---- six refs in one push: the poller records them together ----
n=$(creates wf-dev)
for b in p1 p2 p3 p4 p5 p6; do
	git -C "$W" checkout -q -b "feature/$b" main
	commit "$W" "work on $b"
done
git -C "$W" checkout -q main
hrun git -C "$W" push origin feature/p1 feature/p2 feature/p3 feature/p4 feature/p5 feature/p6
check "six refs: six queued lines" test "$(grep -cE "^$Z refs/heads/feature/p[1-6] $Q" "$T/err")" = 6
for b in p1 p2 p3 p4 p5 p6; do
	check "six refs: feature/$b noted" wait_note "$G" "feature/$b" "^passed wf-dev #[0-9]+ "
done
check "six refs: six more creates" test "$(creates wf-dev)" = $((n + 6))
check "six refs: pollers done" wait_pollers 20

# ---- a busy poller takes a new push at once ----
git -C "$W" checkout -q -b slow/s
hrun git -C "$W" push origin slow/s
expect "slow: queued" 0 "" "^$Z refs/heads/slow/s $Q"
check "slow: the task runs (the poller stays)" \
	wait_note "$G" slow/s "^(created|running) wf-slow-build #[0-9]+ "
# its poll interval grows to 1 s: a new push must not wait for it
git -C "$W" checkout -q -b feature/b main
commit "$W" "while the poller sleeps"
sleep 1
n=$(creates wf-dev)
start=$(now_ms)
hrun git -C "$W" push origin feature/b
for _ in $(seq 100); do
	[ "$(creates wf-dev)" -gt "$n" ] && break
	sleep 0.05
done
took=$(($(now_ms) - start))
check "busy poller: the new push is delivered soon (${took}ms)" test "$took" -lt 3000
# a poller started by the push waits for receive-pack, then finds the lock
# held and exits: within a few seconds one poller is left (slow under ASan)
one_poller() {
	for _ in $(seq 100); do
		[ "$(pollers "$G" | wc -l)" -le 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "busy poller: still one poller" one_poller
for pid in $(pollers "$G"); do kill "$pid"; done
wait_pollers 10 "$G"

# ---- a chained hook still runs, first, with the push on stdin ----
git init -q --bare "$T/ch.git"
cat >"$T/ch.git/hooks/post-receive" <<SH
#!/bin/sh
cat >"$T/chained.in"
echo chained-hook-output >&2
SH
chmod +x "$T/ch.git/hooks/post-receive"
zadig-hook install "$T/ch.git" --config "$CFG" >/dev/null || not_ok "install over a foreign hook"
git -C "$W" push -q "file://$T/ch.git" main 2>/dev/null
hrun git -C "$W" push "file://$T/ch.git" feature/b
expect "chained: the foreign hook ran" 0 "" "^remote: chained-hook-output"
expect "chained: zadig-hook queued" 0 "" "^$Z refs/heads/feature/b $Q"
check "chained: it got the update on stdin" grep -qE "^[0-9a-f]{40} [0-9a-f]{40} refs/heads/feature/b$" "$T/chained.in"
check "chained: delivered" wait_note "$T/ch.git" feature/b "^(created|running|passed) wf-dev #"

# ---- errors: the full program says them, the push succeeds ----
printf 'zadig:\n  url: %s\n  token: x\nhook:\n  mode: async\n  bogus: 1\n' "$FAKE_URL" >"$T/bad.yaml"
git init -q --bare "$T/bad.git"
zadig-hook install "$T/bad.git" >/dev/null || not_ok "install without --config"
git --git-dir="$T/bad.git" config zadig.config "$T/bad.yaml"
hrun git -C "$W" push "file://$T/bad.git" main
expect "config error: the push succeeds, said" 0 "" "^$Z configuration error: .*bad.yaml:6:3: .*bogus.*; nothing triggered"
ZADIG_HOOK_CONFIG=$T/missing.yaml hrun git -C "$W" push "file://$T/bad.git" feature/b
expect "missing config from the environment" 0 "" "^$Z configuration error: .*missing.yaml.*; nothing triggered"

# ---- async with poll: false keeps recording in the hook ----
hook_config "$T/nopoll.yaml" "$FAKE_URL" async
sed -i 's/^  deadline: 5s$/  deadline: 5s\n  poll: false/' "$T/nopoll.yaml"
if run git zadig config check "$T/nopoll.yaml" && [ "$RC" = 0 ]; then
	new_repo np "$T/nopoll.yaml"
	hrun git -C "$T/np" push origin main
	expect "poll: false: the hook records the trigger itself" 0 "" "^$Z dev: wf-dev queued *$"
	check "poll: false: no poller" test -z "$(pollers "$T/np.git")"
	check "poll: false: nothing spooled" test ! -d "$T/np.git/zadig-hook/spool"
	# recording needs no HTTP: libcurl (loaded when a program first
	# talks to Zadig) stays out of the process
	c=$(git -C "$T/np.git" rev-parse main)
	RC=0
	printf '%040d %s refs/heads/feature/ld\n' 0 "$c" |
		(cd "$T/np.git" && GIT_DIR=. LD_DEBUG=libs zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
	expect "poll: false, new branch: recorded" 0 "" "^zadig: dev: wf-dev queued *$"
	check "poll: false: one program, not one starting another" \
		test "$(grep -c "initialize program:" "$T/err")" = 1
	check "poll: false: libcurl is never loaded to record" \
		bash -c "! grep -q libcurl '$T/err'"
	# the same update again (a re-run hook, a branch deleted and pushed
	# again): its trigger is already recorded and still queued; async
	# only records, it never sends
	n=$(creates wf-dev)
	RC=0
	printf '%040d %s refs/heads/feature/ld\n' 0 "$c" |
		(cd "$T/np.git" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
	expect "poll: false, recorded again: already queued" 0 "" "^zadig: dev: already queued *$"
	check "poll: false, recorded again: nothing sent" test "$(creates wf-dev)" = "$n"
	check "poll: false, recorded again: still queued" \
		bash -c "cd '$T/np.git' && git zadig status $c | grep -q 'queued wf-dev'"
	full=$(command -v zadig-hook)
	check "zadig-hook does not link libcurl (it loads it)" \
		bash -c "test -x '$full' && readelf -d '$full' | grep -q NEEDED && ! readelf -d '$full' | grep -q libcurl"
	# gitrepo/local_only.c: libgit2's transports are not set up at start
	check "zadig-hook skips libssh2's and mbedTLS's start-up" \
		skips_transport_setup "$full"
	# linked static, it exports none of its libraries' symbols: libcurl,
	# loaded later with its own OpenSSL, libssh2 and zlib, must not bind
	# to our copies (only libc's data, local_only.c's replacements and,
	# in a sanitizer build, its runtime's flags)
	check "zadig-hook exports no library's symbols" \
		bash -c "! nm -D --defined-only '$full' | awk '{ print \$3 }' |
			grep -vE '@GLIBC|^(libssh2_init|mbedtls_x509_crt_parse_file)$|^__(asan|ubsan|lsan|sanitizer)_' |
			grep -q ."
else
	not_ok "the poll: false config is valid" "$(cat "$T/out" "$T/err")"
fi

# ---- a spool no poller took: git zadig sync records and delivers it ----
# The poller lock held (as by a poller killed before it read the spool,
# or stuck): the hook's poller leaves the spool to the lock's holder.
commit "$W" "spooled, no poller"
git -C "$G" fetch -q "$W" HEAD:refs/heads/feature/lone
c=$(git -C "$W" rev-parse HEAD)
n=$(creates wf-dev)
wait_pollers 20 "$G"
exec 9>>"$G/zadig-hook/poller.lock"
flock -n 9 || not_ok "lock held: the test takes the poller lock"
RC=0
printf '%040d %s refs/heads/feature/lone\n' 0 "$c" |
	(cd "$G" && GIT_DIR=. zadig-hook post-receive) >"$T/out" 2>"$T/err" || RC=$?
expect "lock held: queued" 0 "" "refs/heads/feature/lone queued \\(async\\)"
check "lock held: the poller leaves the spool" wait_pollers 20 "$G"
check "lock held: spooled" test "$(spooled)" = 1
exec 9>&-
run_in "$G" git zadig sync
expect "sync takes the spool and delivers it" 0 "^delivered 1 trigger, "
check "sync: the spool is empty" test "$(spooled)" = 0
check "sync: one create" test "$(creates wf-dev)" = $((n + 1))
check "sync: the note has the task" \
	wait_note "$G" feature/lone "^(created|running|passed) wf-dev #[0-9]+ .*rule=dev$" 1
run_in "$G" git zadig sync
check "a second sync creates nothing" test "$(creates wf-dev)" = $((n + 1))
# sync starts the poller, as a push does: it follows feature/lone's task
# to its end, and slow/s's, still running since its poller was killed
# above (ended here, so that the poller can exit)
id=$(note "$G" slow/s | sed -nE 's/^[a-z]+ wf-slow-build #([0-9]+) .*/\1/p')
fake_ctl POST tasks "{\"kind\":\"product\",\"workflow\":\"wf-slow-build\",\"task_id\":${id:-0},\"status\":\"passed\"}" >/dev/null
check "sync: a poller follows the task to its end" \
	wait_note "$G" feature/lone "^passed wf-dev #[0-9]+ .*rule=dev$" 15
check "sync: ... and the one left running before" \
	wait_note "$G" slow/s "^passed wf-slow-build #[0-9]+ " 15

# ---- the poller's log: a name with a newline cannot forge a line ----
NL=$'odd\nFORGED line'
git init -q --bare "$T/$NL.git"
zadig-hook install "$T/$NL.git" --config "$CFG" >/dev/null || not_ok "install into a name with a newline"
hrun git -C "$W" push "$T/$NL.git" feature/b
expect "newline name: queued" 0 "" "$Q"
check "newline name: the poller logged it" wait_for_log "$T/$NL.git" 'odd\\x0aFORGED line refs/heads/feature/b'
check "newline name: no forged line" bash -c "! grep -q '^FORGED' '$T/$NL.git/zadig-hook/poller.log'"

hook_finish
