# Shared bench helpers: timing, medians, side-by-side rounds.
set -euo pipefail

BENCH_ROUNDS=${BENCH_ROUNDS:-7}

# ms CMD...: wall milliseconds of one run (output discarded), to 0.01 ms.
# Bash's own clock: reading the time costs no process (two `date` runs
# around each command added ~1-2 ms to both sides of every ratio, and
# whole milliseconds were too coarse for the 3-4 ms of a git diff).
ms() {
	local t0 t1
	t0=${EPOCHREALTIME/,/.}
	"$@" >/dev/null 2>&1
	t1=${EPOCHREALTIME/,/.}
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
}

# stats N...: "median min max" of the numbers
stats() {
	printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {
		m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2;
		printf "%s %s %s\n", m, a[1], a[NR] }'
}

machine() {
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ratio A B: A/B with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b ? a / b : 0) }'; }
