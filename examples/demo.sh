#!/bin/bash
# zadig-hook in one minute, on this machine only: a fake Zadig on
# 127.0.0.1, a bare repository with the hook, a clone, a push, and the
# task's status as a git note. Needs ./install.sh to have run.
#   examples/demo.sh            (keeps nothing; prints every step)
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
here=$(cd "$(dirname "$0")/.." && pwd)
fake=${ZH_FAKE:-}
for f in "$fake" "$PREFIX/libexec/zadig-hook/fake-zadig" \
	"$here/build/tests/fake-zadig/fake-zadig"; do
	[ -n "$f" ] && [ -x "$f" ] && fake=$f && break
done
[ -x "$fake" ] || { echo "demo: fake-zadig not found; run ./install.sh" >&2; exit 1; }
[ -n "${ZH_BIN:-}" ] && export PATH=$ZH_BIN:$PATH
command -v zadig-hook >/dev/null || export PATH=$PREFIX/bin:$PATH

demo=$(mktemp -d /tmp/zadig-hook-demo.XXXXXX)
cleanup() {
	pkill -f "zadig-hook poll --git-dir $demo" 2>/dev/null || true
	[ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

export ZADIG_TOKEN=demo-token-not-a-secret
export GIT_CONFIG_GLOBAL=$demo/gitconfig
git config --global user.name "Demo Developer"
git config --global user.email dev@example.com
git config --global init.defaultBranch main

# --repo-root: the fake knows the commit a task built, as Zadig does (its
# commitId lookup has the times of a note's duration=)
"$fake" --listen 127.0.0.1 --port 0 --port-file "$demo/port" \
	--token "$ZADIG_TOKEN" --steps 2 --repo-root "$demo" \
	>"$demo/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [ -s "$demo/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$demo/port")
echo "fake Zadig listening at $url"

cat >"$demo/config.yaml" <<YAML
zadig:
  url: $url
  token: \${ZADIG_TOKEN}
hook:
  mode: sync
  deadline: 10s
poll:
  interval: 500ms
  max_interval: 1s
rules:
  - name: dev
    repo: voting-app
    branches: [main]
    workflow:
      name: voting-workflow-dev
      env: dev
      targets:
        - name: vote
          repos: [voting-app]
YAML

step git init --bare voting-app.git
git init -q --bare "$demo/voting-app.git"
step zadig-hook install voting-app.git --config config.yaml
zadig-hook install "$demo/voting-app.git" --config "$demo/config.yaml"

step git clone voting-app.git work
git clone -q "$demo/voting-app.git" "$demo/work" 2>/dev/null
cd "$demo/work"
echo "print('vote')" >vote.py
git add vote.py
step git commit -m "add the vote service"
git commit -qm "add the vote service"
step git push origin main
git push origin main 2>&1

step "git zadig status   # in the server's repository, right after the push"
(cd "$demo/voting-app.git" && git zadig status main)

echo
echo "(the detached poller follows the task until Zadig says it is final)"
for _ in $(seq 100); do
	(cd "$demo/voting-app.git" && git zadig status main) | grep -q "passed" && break
	sleep 0.2
done

step git fetch origin +refs/notes/zadig:refs/notes/zadig
git fetch -q origin +refs/notes/zadig:refs/notes/zadig
step git log --notes=zadig -1
git log --notes=zadig -1
