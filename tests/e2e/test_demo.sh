#!/bin/bash
# The README's quick start (examples/demo.sh) works and ends with a passed
# task in the notes.
. "$(dirname "$0")/lib.sh"

run env ZH_FAKE="$ZH_FAKE" bash "$ZH_SOURCE_DIR/examples/demo.sh"
expect "demo runs" 0 "remote: zadig: dev: voting-workflow-dev #1 created http://127.0.0.1:"
check "demo ends with the passed note, its duration as the README shows" grep -qE "^    passed voting-workflow-dev #1 http://127.0.0.1:[0-9]+/.* duration=[0-9]+s tests=24/24 rule=dev" "$T/out"
check "demo leaves no poller behind" bash -c '! pgrep -f "zadig-hook pol[l] --git-dir /tmp/zadig-hook-demo" >/dev/null'
finish
