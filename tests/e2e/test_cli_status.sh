#!/bin/bash
# git zadig status over revision ranges: A..B and A...B list the commits
# git log lists, in its order, each with its note.
. "$(dirname "$0")/lib.sh"

R=$T/range
git init -q "$R"
cd "$R"
n=0
commit() { # commit MSG: one commit a second apart, so git log's order is fixed
	n=$((n + 1))
	GIT_COMMITTER_DATE="2024-01-01T00:00:$(printf %02d $n)Z" \
		git commit -q --allow-empty -m "$1"
}
commit c1
commit c2
git branch side
commit c3
commit c4
git checkout -q side
commit s1
git checkout -q main
git notes --ref=zadig add -m "passed wf #3 - rule=r" main~1

# the commit lines of the last output, as short ids
ids() { grep -oE '^[0-9a-f]{8} ' "$T/out" | tr -d ' ' | tr '\n' ' '; }
logids() { git log --format=%h --abbrev=8 "$@" | tr '\n' ' '; }

run git zadig status HEAD~3..HEAD
expect "status A..B" 0 "^$(git rev-parse --short=8 HEAD) c4$"
check "status A..B: the commits of git log A..B, in its order" \
	test "$(ids)" = "$(logids HEAD~3..HEAD)"
check "status A..B: three commits" test "$(ids | wc -w)" = 3
check "status A..B: the note of c3" grep -q "^  passed wf #3 - rule=r$" "$T/out"
run git zadig status HEAD~2..
expect "status A.. is A..HEAD" 0
check "status A..: c4 and c3" test "$(ids)" = "$(logids HEAD~2..HEAD)"
run git zadig status ..side
expect "status ..B is HEAD..B" 0 "^$(git rev-parse --short=8 side) s1$"
check "status ..B: s1 alone" test "$(ids)" = "$(logids HEAD..side)"
run git zadig status main...side
expect "status A...B" 0
check "status A...B: the commits of git log A...B, in its order" \
	test "$(ids)" = "$(logids main...side)"
check "status A...B: c4, c3 and s1" test "$(ids | wc -w)" = 3
run git zadig status HEAD~1..HEAD side
expect "status of a range and a revision" 0
check "status of a range and a revision: both" \
	test "$(ids)" = "$(logids -1 HEAD)$(logids -1 side)"
git tag -a -m v1 v1 HEAD~2
run git zadig status v1..
expect "status from an annotated tag" 0
check "status from an annotated tag: c4 and c3" test "$(ids)" = "$(logids v1..HEAD)"
git checkout -q --orphan other
commit o1
git checkout -q main
run git zadig status main...other
expect "status A...B of unrelated histories" 0
check "status A...B of unrelated histories: both whole" \
	test "$(ids)" = "$(logids main...other)"
check "status A...B of unrelated histories: five commits" test "$(ids | wc -w)" = 5
run git zadig status HEAD..HEAD
expect "status of an empty range" 0
check "status of an empty range: nothing" test ! -s "$T/out"
run git zadig status --json HEAD..HEAD
expect "status --json of an empty range" 0 '^\[\]$'
run git zadig status --json main~2..main
expect "status --json of a range" 0 "\"commit\": \"$(git rev-parse HEAD)\""
if command -v python3 >/dev/null; then
	check "status --json of a range is valid JSON" \
		bash -c "python3 -m json.tool '$T/out' >/dev/null"
fi
run git zadig status nosuch..HEAD
expect "status of a range with an unknown side" 1 "" "unknown revision 'nosuch'"
run git zadig status HEAD...nosuch
expect "status A...B with an unknown side" 1 "" "unknown revision 'nosuch'"
run git zadig status ..
expect "status .." 1 "" "unknown revision '\.\.'"
finish
