#!/bin/bash
# zadig-webhook: every refused request leaves one log line with its route,
# status and reason (never the token or the body), at most a few a second,
# then one line says how many were not logged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_webhook.sh"

fake_start
GL_SECRET="gl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-secret"
export GL_SECRET
CFG=$T/webhook.yaml
wh_config "$CFG" "  max_body: 1KiB"
wh_start "$CFG"

# a body the log must never show
MARK=body-mark-$RANDOM$RANDOM
WRONG=wrong-token-$RANDOM$RANDOM
printf '{"object_kind":"push","project":{"path_with_namespace":"nobody/%s"}' "$MARK" >"$T/bad.json"
printf '{"object_kind":"push","before":"%040d","after":"%039d1","ref":"refs/heads/%s","project":{"path_with_namespace":"nobody/none"},"commits":[]}' \
	0 0 "$MARK" >"$T/push.json"
{ printf '{"object_kind":"push","x":"%s",' "$MARK"; head -c 2000 /dev/zero | tr '\0' ' '; printf '}'; } >"$T/big.json"

refused() { # refused PATTERN: one log line says so
	wait_until 5 log_has "^zadig-webhook: refused: $1$"
}

post /webhook/gitlab "$T/push.json" -H "X-Gitlab-Token: $WRONG" -H "X-Gitlab-Event: Push Hook" >/dev/null
want "wrong token: 401" 401
check "wrong token: logged with route, status and reason" \
	refused "POST /webhook/gitlab 401 \(token\) from 127\.0\.0\.1: invalid X-Gitlab-Token"
gitlab "Push Hook" "$T/bad.json" >/dev/null
want "not JSON: 400" 400
check "not JSON: logged" \
	refused "POST /webhook/gitlab 400 \(bad_json\) from 127\.0\.0\.1: body is not JSON: .*"
gitlab "Push Hook" "$T/push.json" -H "Idempotency-Key: a\"b c" >/dev/null
want "bad Idempotency-Key: 400" 400
check "bad Idempotency-Key: logged" \
	refused "POST /webhook/gitlab 400 \(bad_json\) from 127\.0\.0\.1: invalid delivery key .*"
gitlab "Push Hook" "$T/big.json" >/dev/null
want "over max_body: 413" 413
check "over max_body: logged" \
	refused "POST /webhook/gitlab 413 \(too_big\) from 127\.0\.0\.1: body larger than webhook.max_body \(1024 bytes\)"
sleep 1.1
post "/callback/zadig?k=abc&s=0000" "$T/push.json" >/dev/null
want "forged callback: 401" 401
check "forged callback: logged, without its query" \
	refused "POST /callback/zadig 401 \(signature\) from 127\.0\.0\.1: invalid callback signature"
post /webhook/zadig "$T/push.json" -H "X-Zadig-Token: $WRONG" >/dev/null
want "notification without zadig_token configured: 404" 404
check "unknown route: logged" refused "POST /webhook/zadig 404 \(not_found\) from 127\.0\.0\.1: not found"
check "one line each" test "$(grep -c ': refused: ' "$T/wh.err")" = 6
check "never the token or the body" \
	bash -c "! grep -qF -e '$WRONG' -e '$MARK' -e '$GL_SECRET' '$T/wh.err'"

# a flood: a few lines a second, the rest counted in one line
sleep 1.1
before=$(grep -c ': refused: ' "$T/wh.err")
urls=()
for _ in $(seq 200); do urls+=("$WH_URL/webhook/gitlab"); done
t0=$(date +%s%N)
curl -s -o /dev/null -X POST -H "X-Gitlab-Token: $WRONG" -d '{}' "${urls[@]}" >/dev/null
secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
check "flood: answered 401 throughout" test "$(metric 'zadig_webhook_events_rejected_total{reason="token"}')" = 201
flood_lines() { # the lines of the flood's requests
	tail -n +"$((before + 1))" "$T/wh.err" | grep -c 'refused: POST /webhook/gitlab 401'
}
accounted() { # those plus the requests the log says were not logged
	local skipped
	skipped=$(grep -oE 'refused: [0-9]+ more requests? not logged' "$T/wh.err" |
		awk '{ s += $2 } END { print s + 0 }')
	[ "$(($(flood_lines) + skipped))" = 200 ]
}
check "flood: every request logged or counted in a 'not logged' line" wait_until 5 accounted
logged=$(flood_lines)
check "flood: at most 5 lines a second ($logged lines in ${secs}s)" \
	test "${logged:-999}" -le $((5 * (secs + 1)))
check "flood: the count line names the limit" \
	log_has "refused: [0-9]+ more requests? not logged \(at most 5 lines a second\)$"
check "flood: never the token" bash -c "! grep -qF '$WRONG' '$T/wh.err'"

# connections dropped half-sent: libmicrohttpd says so for each, through
# its own limit (it wrote a line each, ~930 a second from one client)
before=$(wc -l <"$T/wh.err")
command -v python3 >/dev/null || { finish; exit; }
python3 - "$WH_PORT" <<'PY'
import socket, sys, time
for _ in range(6):
    cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(50)]
    for c in cs:
        c.sendall(b"PO")
    time.sleep(0.2)
    for c in cs:
        c.close()
PY
sleep 1.5
curl -s -o /dev/null "$WH_URL/healthz"
dropped=$(tail -n +"$((before + 1))" "$T/wh.err" | grep -c '^zadig-webhook: http: ')
check "dropped connections: at most a few lines ($dropped)" test "$dropped" -le 20
check "dropped connections: the rest counted" \
	wait_until 5 log_has "http: [0-9]+ more messages? not logged \(at most 5 lines a second\)$"

# one client holding idle connections (or trickling bytes into them)
# takes at most 128 of the receiver's 512: another client is still
# answered at once (it waited for the 30 s connection timeout)
python3 - "$WH_PORT" "$T/held" <<'PY' &
import os, socket, sys, time
cs = []
for _ in range(520):
    c = socket.socket()
    c.bind(("127.0.0.2", 0))
    try:
        c.connect(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        pass
    cs.append(c)
open(sys.argv[2], "w").close()
time.sleep(20)
PY
HOLDER=$!
wait_until 10 test -e "$T/held"
start=$(date +%s%3N)
code=$(curl -s --interface 127.0.0.1 --max-time 10 -o /dev/null -w '%{http_code}' "$WH_URL/healthz")
took=$(($(date +%s%3N) - start))
check "one client's idle connections: another is answered at once ($code in ${took}ms)" \
	test "$code" = 200 -a "$took" -lt 3000
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

wh_stop
check "stops cleanly" test "$WH_RC" = 0
finish
