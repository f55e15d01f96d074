# SPDX-License-Identifier: MIT
# Shared by the benchmark scripts: statistics, timing from outside, checks.

# stats < numbers: "median (min-max, n=N)"
stats() {
	sort -g | awk '{a[NR] = $1} END {
		if (!NR) { print "n/a"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.1f (%.1f-%.1f, n=%d)\n", m, a[1], a[NR], NR }'
}

# median < numbers
median() { sort -g | awk '{a[NR] = $1} END {if (NR) printf "%.1f\n", (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }

# now_us: wall clock in microseconds (bash's EPOCHREALTIME, no fork)
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# bench_tools DIR: build the outside timer (spawn-time.c) and a static
# program that does nothing into DIR; `timed` uses the timer from then on.
bench_tools() {
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	cc -O2 "$here/spawn-time.c" -o "$1/spawn-time" || { echo "bench: cannot build spawn-time" >&2; exit 1; }
	printf 'int main(void) { return 0; }\n' >"$1/noop.c"
	cc -O2 -static "$1/noop.c" -o "$1/noop" 2>/dev/null || cc -O2 "$1/noop.c" -o "$1/noop" ||
		{ echo "bench: cannot build the no-op program" >&2; exit 1; }
	SPAWN_TIME=$1/spawn-time NOOP=$1/noop
}

# floor N: "median (min-max, n)" in ms of N runs of the no-op program, timed
# like the commands: what any command pays here to be started and reaped
floor() {
	local i t
	for ((i = 0; i < $1; i++)); do timed t "$NOOP"; echo "$t"; done | stats
}

# timed OUT_VAR CMD...  (set BENCH_ERR to the file CMD's stderr goes to, to see it on failure): run CMD, set OUT_VAR to its wall time in ms measured
# from outside (spawn to exit: spawn-time.c after bench_tools, else bash's
# own clock around a fork); abort the benchmark when CMD fails, since a
# failed revert would turn the next apply into an instant "already applied".
timed() {
	local __var=$1 t0 t1 rc us
	shift
	if [ -n "${SPAWN_TIME:-}" ]; then
		if [ -n "${BENCH_ERR:-}" ]; then "$SPAWN_TIME" "$SPAWN_TIME.out" "$@" 2>"$BENCH_ERR"
		else "$SPAWN_TIME" "$SPAWN_TIME.out" "$@"; fi
		rc=$?
		us=$(cat "$SPAWN_TIME.out" 2>/dev/null)
	else
		t0=${EPOCHREALTIME/./}
		if [ -n "${BENCH_ERR:-}" ]; then "$@" 2>"$BENCH_ERR"; else "$@"; fi
		rc=$?
		t1=${EPOCHREALTIME/./}
		us=$((t1 - t0))
	fi
	if [ "$rc" != 0 ] || [ -z "$us" ]; then
		echo "bench: '$*' failed with exit code $rc; figures would be wrong, stopping" >&2
		[ -n "${BENCH_ERR:-}" ] && [ -f "$BENCH_ERR" ] && tail -5 "$BENCH_ERR" >&2
		exit 1
	fi
	printf -v "$__var" '%s' "$(awk -v u="$us" 'BEGIN {printf "%.3f", u / 1000}')"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# check_release BUILD: warn when the build is not optimised like a release
check_release() {
	local bt
	bt=$(meson introspect --buildoptions "$1" 2>/dev/null | jq -r '.[] | select(.name == "buildtype") | .value' 2>/dev/null)
	[ "$bt" = release ] || echo "bench: note: $1 is a '${bt:-unknown}' build; figures for BENCHMARKS.md come from" \
		"'meson setup --buildtype=release'" >&2
}
