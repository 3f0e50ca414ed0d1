#!/bin/bash
# A push of 10,000 commits through the hook: one trigger for the ref update
# (on the new tip), the changed paths of the whole range, and the push
# succeeds.
. "$(dirname "$0")/lib.sh"

fake_start
cat >"$T/config.yaml" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
hook:
  mode: sync
  poll: false
rules:
  - name: src
    branches: [main]
    paths: ["src/f7.txt"]
    workflow: { name: wf-big, env: dev, targets: [{ name: s, repos: [r] }] }
  - name: never
    branches: [main]
    paths: ["nothere/**"]
    workflow: { name: wf-never, env: dev, targets: [{ name: s, repos: [r] }] }
YAML
git init -q --bare "$T/big.git"
run zadig-hook install "$T/big.git" --config "$T/config.yaml"
expect "install" 0 "installed the post-receive hook"

git clone -q "$T/big.git" "$T/w" 2>/dev/null
cd "$T/w"
echo seed >seed && git add seed && git commit -qm seed && git push -q origin main 2>/dev/null
base=$(git rev-parse HEAD)
for i in $(seq 10000); do
	printf 'commit refs/heads/main\nmark :%d\ncommitter T <t@e> %d +0000\ndata 5\nc%04d\n' "$i" $((1700000000 + i)) $((i % 10000))
	if [ "$i" = 1 ]; then printf 'from %s\n' "$base"; else printf 'from :%d\n' $((i - 1)); fi
	printf 'M 644 inline src/f%d.txt\ndata %d\n%d\n\n' $((i % 50)) $((${#i} + 1)) "$i"
done | git fast-import --quiet
git reset -q --hard main
check "10,000 new commits" test "$(git rev-list --count "$base"..main)" = 10000

run git push origin main
expect "push of 10,000 commits succeeds" 0 "" "remote: zadig: src: wf-big #1 created"
check "the paths rule that matches nothing skips" bash -c "! grep -q 'never' '$T/err'"
tip=$(git rev-parse main)
fake_ctl GET requests >"$T/req.json"
check "one create request for the push" test "$(grep -c '"path": "/api/directory/workflowTask/create"' "$T/req.json")" = 1
run git --git-dir "$T/big.git" notes --ref=zadig show "$tip"
expect "the tip carries the note" 0 "^created wf-big #1 .* rule=src$"
finish
