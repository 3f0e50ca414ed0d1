#!/bin/bash
# zadig-webhook over a few thousand requests of every kind, then SIGTERM:
# no leak (valgrind for a plain build, LeakSanitizer for a sanitizer build),
# every accepted event processed, the right replies counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

N_EVENTS=${ZH_SOAK_EVENTS:-1000}  # distinct accepted events
fake_start --steps 1
SECRET=soak-secret-$$
cat >"$T/soak.yaml" <<YAML
zadig:
  url: $FAKE_URL
  token: \${ZADIG_TOKEN}
state_dir: $T/state
webhook:
  secret: $SECRET
  max_body: 64KiB
  workers: 2
poll:
  interval: 200ms
  max_interval: 1s
rules:
  - name: soak
    repo: "soak/fire"
    branches: [main]
    workflow: { name: wf-soak, env: dev, targets: [{ name: s, repos: [r] }] }
YAML

wrap=()
if ldd "$ZH_BIN/zadig-webhook" | grep -q libasan; then
	echo "# sanitizer build: LeakSanitizer checks at exit"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=1
elif command -v valgrind >/dev/null; then
	echo "# plain build: running under valgrind"
	wrap=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99
		--log-file="$T/valgrind.log")
	N_EVENTS=${ZH_SOAK_EVENTS:-300}
else
	echo "# neither a sanitizer build nor valgrind: leak check skipped"
fi

# start (possibly under valgrind, which is slow to start)
rm -f "$T/wh.port"
"${wrap[@]}" "$ZH_BIN/zadig-webhook" --config "$T/soak.yaml" \
	--listen 127.0.0.1:0 --port-file "$T/wh.port" 2>>"$T/wh.err" &
WH_PID=$!
for _ in $(seq 600); do [ -s "$T/wh.port" ] && break; sleep 0.05; done
WH_URL=http://127.0.0.1:$(cat "$T/wh.port")

# payloads: half fire the rule (degraded: no repository configured),
# half match no rule
mk() { # mk FILE PROJECT AFTER
	printf '{"object_kind":"push","ref":"refs/heads/main","before":"%s","after":"%s","checkout_sha":"%s","total_commits_count":1,"project":{"path_with_namespace":"%s"},"commits":[{"id":"%s","message":"m","author":{"name":"a","email":"a@e"},"added":["f"],"modified":[],"removed":[]}]}' \
		"$(printf '%040d' 0 | tr 0 1)" "$3" "$3" "$2" "$3" >"$1"
}
big=$T/big.json
head -c 70000 /dev/zero | tr '\0' 'x' | sed 's/^/{"object_kind":"push","pad":"/; s/$/"}/' >"$big"
echo '{"object_kind": "push", "ref": ' >"$T/bad.json"
{
	for i in $(seq "$N_EVENTS"); do
		sha=$(printf '%040x' "$((i + 4096))")
		proj=soak/quiet
		[ $((i % 8)) = 0 ] && proj=soak/fire
		mk "$T/e$i.json" "$proj" "$sha"
		for dup in 1 2; do   # GitLab's retry: the same key twice
			printf 'url = "%s/webhook/gitlab"\nrequest = "POST"\nheader = "X-Gitlab-Token: %s"\nheader = "X-Gitlab-Event: Push Hook"\nheader = "Idempotency-Key: soak-%d"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' \
				"$WH_URL" "$SECRET" "$i" "$T/e$i.json"
		done
		if [ $((i % 4)) = 0 ]; then
			printf 'url = "%s/webhook/gitlab"\nrequest = "POST"\nheader = "X-Gitlab-Token: wrong"\nheader = "X-Gitlab-Event: Push Hook"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$WH_URL" "$T/e$i.json"
			printf 'url = "%s/webhook/gitlab"\nrequest = "POST"\nheader = "X-Gitlab-Token: %s"\nheader = "X-Gitlab-Event: Push Hook"\nheader = "Idempotency-Key: big-%d"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$WH_URL" "$SECRET" "$i" "$big"
			printf 'url = "%s/webhook/gitlab"\nrequest = "POST"\nheader = "X-Gitlab-Token: %s"\nheader = "X-Gitlab-Event: Push Hook"\nheader = "Idempotency-Key: bad-%d"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$WH_URL" "$SECRET" "$i" "$T/bad.json"
			printf 'url = "%s/metrics"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$WH_URL"
			printf 'url = "%s/healthz"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$WH_URL"
		fi
	done
	printf 'url = "%s/healthz"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$WH_URL"
} >"$T/curl.cfg"

curl -sS --max-time 300 --parallel --parallel-max 8 -K "$T/curl.cfg" >"$T/codes" 2>"$T/curl.err"
total=$(wc -l <"$T/codes")
echo "# $total requests sent"
check "a few thousand requests answered" test "$total" -ge $((N_EVENTS * 3))
check "accepted: one 202 per event" test "$(grep -c '^202$' "$T/codes")" = "$N_EVENTS"
check "redeliveries: one 200 duplicate per event" test "$(grep -c '^200$' "$T/codes")" -ge "$N_EVENTS"
check "wrong token: 401" test "$(grep -c '^401$' "$T/codes")" = $((N_EVENTS / 4))
check "oversized: 413" test "$(grep -c '^413$' "$T/codes")" = $((N_EVENTS / 4))
check "bad JSON: 400" test "$(grep -c '^400$' "$T/codes")" = $((N_EVENTS / 4))
check "no 5xx, no failed request" bash -c "! grep -qvE '^(200|202|400|401|413)$' '$T/codes'"
# what went otherwise, for the log (000: curl got no answer; see curl.err)
grep -vE '^(200|202|400|401|413)$' "$T/codes" | sort | uniq -c | sed 's/^/# unexpected code: /'
sed 's/^/# curl: /' "$T/curl.err" | head -5

fires=$((N_EVENTS / 8))
check "every firing event created its task" wait_until 120 \
	bash -c "[ \"\$(curl -s '$FAKE_URL/__fake/requests' | grep -c '\"path\": \"/api/directory/workflowTask/create\"')\" -ge $fires ]"
check "exactly one task per event" test "$(curl -s "$FAKE_URL/__fake/requests" | grep -c '"path": "/api/directory/workflowTask/create"')" = "$fires"

wh_stop TERM
check "SIGTERM: exit 0, no leak reported" test "$WH_RC" = 0
[ -s "$T/valgrind.log" ] && sed 's/^/# /' "$T/valgrind.log" | head -40
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/wh.err'"
finish
