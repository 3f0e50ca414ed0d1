#!/bin/bash
# An async push the poller can never read (a tag of a tree or a blob, a
# tree nested deeper than 2048 levels: ZH_EINVALID) fires nothing for its
# ref, as the sync hook says it, and is not kept: the poller logs
# '<repo> <ref> <id>: cannot read the push: ...; nothing triggered' and
# exits, where it kept the file and walked it again every round for
# poll.give_up_after (24 h), staying alive all that time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hook.sh"

fake_start
CFG=$T/async.yaml
hook_config "$CFG" "$FAKE_URL" async 5s
new_repo a "$CFG"
G=$T/a.git
W=$T/a
S=$G/zadig-hook
Z="remote: zadig:"
spooled() { find "$S/spool" -maxdepth 1 -name '*.push' 2>/dev/null | wc -l; }
failed() { find "$S/spool/failed" -type f 2>/dev/null | wc -l; }

hrun git -C "$W" push origin main
expect "a first push" 0 "" "^$Z refs/heads/main queued \\(async\\)"
check "its poller exits" wait_pollers 20

# ---- a tag of a tree: 'is not a commit' ----
tree=$(git -C "$W" rev-parse 'HEAD^{tree}')
git -C "$W" tag v-tree "$tree"
hrun git -C "$W" push origin v-tree
expect "a tag of a tree: queued" 0 "" "^$Z refs/tags/v-tree queued \\(async\\)"
check "a tag of a tree: the poller says nothing fired, as the sync hook" \
	wait_for_log "$G" "a refs/tags/v-tree [0-9a-f]{12}: cannot read the push: '$tree' is not a commit; nothing triggered"
check "a tag of a tree: the poller exits" wait_pollers 20
check "a tag of a tree: not kept" test "$(spooled)" = 0
check "a tag of a tree: not set aside" test "$(failed)" = 0
check "a tag of a tree: no 'kept' line" \
	bash -c "! grep -q 'kept' '$S/poller.log'"

# ---- a tree nested deeper than 2048 levels ----
t=$(git -C "$W" mktree </dev/null)
for _ in $(seq 2050); do
	t=$(printf '040000 tree %s\td\n' "$t" | git -C "$W" mktree)
done
deep=$(git -C "$W" commit-tree "$t" -p HEAD -m deep)
hrun git -C "$W" push origin "$deep:refs/heads/feature/deep"
expect "a deep tree: queued" 0 "" "^$Z refs/heads/feature/deep queued \\(async\\)"
check "a deep tree: the poller says nothing fired" \
	wait_for_log "$G" "a refs/heads/feature/deep [0-9a-f]{12}: cannot read the push: trees nested deeper than 2048 levels below '.*'; nothing triggered"
check "a deep tree: the poller exits" wait_pollers 20
check "a deep tree: not kept" test "$(spooled)" = 0
check "a deep tree: not set aside" test "$(failed)" = 0

# ---- one push of a readable ref and a tag of a blob: the readable one
# fires, the file goes ----
blob=$(echo data | git -C "$W" hash-object -w --stdin)
git -C "$W" tag v-blob "$blob"
commit "$W" "ok"
git -C "$W" branch feature/ok
hrun git -C "$W" push origin feature/ok v-blob
expect "mixed: both queued" 0 "" "^$Z refs/tags/v-blob queued \\(async\\)"
check "mixed: the tag of a blob fired nothing" \
	wait_for_log "$G" "a refs/tags/v-blob [0-9a-f]{12}: cannot read the push: '$blob' is not a commit; nothing triggered"
check "mixed: the branch fired" \
	wait_for_log "$G" "a refs/heads/feature/ok [0-9a-f]{12}: 1 rule\\(s\\) fired"
check "mixed: its note" wait_note "$G" feature/ok "^passed wf-dev #"
check "mixed: the poller exits" wait_pollers 20
check "mixed: not kept" test "$(spooled)" = 0
check "mixed: not set aside" test "$(failed)" = 0

hook_finish
