#!/bin/bash
# Build the libFuzzer targets and run each for a short while from a copy
# of its seed corpus (docs/FUZZING.md).
#
#   fuzz/smoke.sh [BUILD_DIR] [TARGET...]
#
# BUILD_DIR defaults to build-fuzz next to this repository's top; it is
# configured with clang, ASan and UBSan when it holds no fuzz build yet.
# TARGET is e.g. "config" or "fuzz_config"; the default is every target
# that was built. FUZZ_SECONDS (default 30) is the time per target;
# FUZZ_JOBS (default: the number of cores) targets run at a time.
# Exits non-zero when a target fails to build, crashes, leaks or times
# out; the crashing input is kept under $FUZZ_ARTIFACTS (default: a temp
# dir, printed). Nothing is written into the repository but BUILD_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
[ $# -gt 0 ] && shift
seconds=${FUZZ_SECONDS:-30}

case $seconds in
'' | *[!0-9]*)
	echo "smoke.sh: FUZZ_SECONDS must be a number of seconds" >&2
	exit 2
	;;
esac

# libFuzzer is part of clang's runtime, a separate package on Debian.
if ! command -v clang >/dev/null; then
	echo "smoke.sh: clang not found: apt-get install clang" >&2
	exit 2
fi
rt=$(clang -print-runtime-dir 2>/dev/null || true)
lib=$(ls "$rt"/libclang_rt.fuzzer*.a \
	"$(clang -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-*.a \
	2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
	ver=$(clang -dumpversion | cut -d. -f1)
	echo "smoke.sh: clang has no libFuzzer runtime" \
		"(libclang_rt.fuzzer): apt-get install libclang-rt-$ver-dev" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/zh-fuzz.XXXXXX")
artifacts=${FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$artifacts"
trap 'rm -rf "$work/corpus"' EXIT

if [ ! -f "$build/CMakeCache.txt" ] ||
	! grep -q '^ZH_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
	# ZH_WERROR off: clang's warnings differ from gcc's, which the
	# project's -Werror build is kept clean with (docs/FUZZING.md).
	cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DZH_FUZZ=ON \
		-DZH_SANITIZE=address,undefined -DZH_TESTS=OFF \
		-DZH_WERROR=OFF >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		exit 1
	}
fi
if ! cmake --build "$build" --target fuzz -j"$(nproc)" \
	>>"$work/build.log" 2>&1; then
	cat "$work/build.log" >&2
	exit 1
fi

targets=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		targets+=("${t#fuzz_}")
	done
else
	for d in "$root"/fuzz/corpus/*/; do
		t=$(basename "$d")
		[ -x "$build/fuzz/fuzz_$t" ] && targets+=("$t")
	done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: fuzz a copy of its corpus (libFuzzer adds what it finds to
# the corpus dir); its result goes to $work/$t.result.
run_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 log=$work/$1.log dict=() execs
	if [ ! -x "$bin" ]; then
		echo "fuzz_$t: not built (see fuzz/CMakeLists.txt)" >"$work/$t.result"
		return
	fi
	mkdir -p "$work/corpus/$t"
	cp -R "$root/fuzz/corpus/$t/." "$work/corpus/$t/"
	if [ -f "$root/fuzz/dict/$t.dict" ]; then
		dict=(-dict="$root/fuzz/dict/$t.dict")
	fi
	if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		"${dict[@]}" "$work/corpus/$t" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok, ${execs:-?} execs in ${seconds}s" >"$work/$t.ok"
	else
		{
			echo "fuzz_$t: FAILED (log: $log)"
			grep -E '^(==[0-9]+==)?(ERROR|SUMMARY)|^artifact_prefix|Test unit written' \
				"$log" || tail -n 20 "$log"
		} >"$work/$t.result"
	fi
}

# FUZZ_JOBS targets at a time (default: one per core; each libFuzzer
# process is single-threaded), so that the whole smoke takes about
# FUZZ_SECONDS per FUZZ_JOBS targets.
jobs_max=${FUZZ_JOBS:-$(nproc)}
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
	if [ -f "$work/$t.ok" ]; then
		echo "fuzz_$t: $(cat "$work/$t.ok")"
	else
		cat "$work/$t.result" >&2
		failed+=("$t")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "smoke.sh: failed: ${failed[*]}; inputs in $artifacts" >&2
	exit 1
fi
rm -rf "$work"
