#!/bin/bash
# hook.deadline bounds zadig-hook's own work, not the chained hook's: a
# chained hook that runs longer than the deadline still leaves the whole
# deadline to send the push's rules, where they all ended "queued, the
# hook deadline was reached".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/config.yaml
hook_config "$CFG" "$FAKE_URL" sync 2s
Z="remote: zadig:"

git init -q --bare "$T/app.git"
cat >"$T/app.git/hooks/post-receive" <<SH
#!/bin/sh
cat >/dev/null
sleep 3
echo "slow chained hook done" >&2
SH
chmod +x "$T/app.git/hooks/post-receive"
zadig-hook install "$T/app.git" --config "$CFG" >/dev/null ||
	not_ok "install over the slow hook"
git clone -q "file://$T/app.git" "$T/app" 2>/dev/null
commit "$T/app" "first"
git -C "$T/app" tag v1

timed_push "$T/app" origin main v1
expect "a chained hook slower than the deadline: the push succeeds" 0 "" \
	"^remote: slow chained hook done"
check "the chained hook ran before zadig-hook" \
	bash -c "grep -n . '$T/err' | grep -m1 -E 'slow chained|$Z' | grep -q 'slow chained'"
check "main's rule is sent, not queued for the deadline" \
	grep -qE "^$Z dev: wf-dev #[0-9]+ created " "$T/err"
check "v1's rule is sent too" \
	grep -qE "^$Z rel: wf-release #[0-9]+ created " "$T/err"
check "no rule met the deadline" bash -c "! grep -q 'deadline was reached' '$T/err'"
check "one create each" test "$(creates wf-dev):$(creates wf-release)" = 1:1

hook_finish
