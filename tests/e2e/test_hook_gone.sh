#!/bin/bash
# The pusher goes away while the hook runs (Ctrl-C, a dropped connection):
# the hook's stdout and stderr are then a pipe nobody reads. It still
# exits 0, sends or queues every rule and starts the poller, in sync and
# in async mode, where a write to that pipe killed it (SIGPIPE, exit 141).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start

# gone_hook GIT-DIR LINES: run GIT-DIR's installed hook as git would, with
# LINES on stdin and stdout and stderr a pipe whose reader has exited;
# RC gets its exit status.
gone_hook() {
	local fd
	exec {fd}> >(exit 0)
	wait $!
	RC=0
	printf '%s\n' "$2" |
		(cd "$1" && GIT_DIR=. ./hooks/post-receive) >&$fd 2>&$fd || RC=$?
	exec {fd}>&-
}

for mode in sync async; do
	cfg=$T/$mode.yaml
	hook_config "$cfg" "$FAKE_URL" "$mode"
	new_repo "$mode" "$cfg"
	G=$T/$mode.git
	W=$T/$mode
	git -C "$W" tag v1
	# the commits in the repository, as a push leaves them before the hook
	git -C "$G" fetch -q "$W" HEAD:refs/heads/main refs/tags/v1:refs/tags/v1
	c=$(git -C "$W" rev-parse HEAD)
	dev=$(creates wf-dev)
	rel=$(creates wf-release)
	gone_hook "$G" "$(printf '%040d %s refs/heads/main\n%040d %s refs/tags/v1' 0 "$c" 0 "$c")"
	check "$mode, pusher gone: the hook exits 0 (got $RC)" test "$RC" = 0
	check "$mode, pusher gone: the poller runs" test -n "$(poller_of "$G")"
	check "$mode, pusher gone: main's rule is delivered" \
		wait_note "$G" main "^(created|running|passed) wf-dev #[0-9]+ .*rule=dev$"
	check "$mode, pusher gone: v1's rule is delivered too" \
		wait_note "$G" v1 "^(created|running|passed) wf-release #[0-9]+ .*rule=rel$"
	check "$mode, pusher gone: one create each" \
		test "$(creates wf-dev):$(creates wf-release)" = "$((dev + 1)):$((rel + 1))"
	check "$mode, pusher gone: nothing left spooled" \
		test -z "$(find "$G/zadig-hook/spool" -name '*.push' 2>/dev/null)"
	check "$mode, pusher gone: the tasks end passed" \
		wait_note "$G" main "^passed wf-dev #[0-9]+ .*rule=dev$"
done

# a chained hook sees SIGPIPE as ever (the default, not zadig-hook's)
git init -q --bare "$T/ch.git"
cat >"$T/ch.git/hooks/post-receive" <<SH
#!/bin/sh
grep SigIgn /proc/self/status >"$T/chained.sig"
SH
chmod +x "$T/ch.git/hooks/post-receive"
zadig-hook install "$T/ch.git" --config "$T/sync.yaml" >/dev/null ||
	not_ok "install into ch.git"
git -C "$T/ch.git" fetch -q "$T/sync" HEAD:refs/heads/nomatch
gone_hook "$T/ch.git" "$(printf '%040d %s refs/heads/nomatch' 0 "$c")"
check "chained, pusher gone: the hook exits 0 (got $RC)" test "$RC" = 0
# SIGPIPE is signal 13: bit 12 of the mask
check "the chained hook runs with SIGPIPE not ignored" \
	bash -c "m=\$(awk '{ print \$2 }' '$T/chained.sig'); test \$(( 0x\$m & 0x1000 )) = 0"

hook_finish
