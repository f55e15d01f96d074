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

# timed OUT_VAR CMD...  (set BENCH_ERR to the file CMD's stderr goes to, to see it on failure): run CMD, set OUT_VAR to its wall time in ms measured
# from outside (fork to exit); abort the benchmark when CMD fails, since a
# failed revert would turn the next apply into an instant "already applied".
timed() {
	local __var=$1 t0 t1 rc
	shift
	t0=${EPOCHREALTIME/./}
	if [ -n "${BENCH_ERR:-}" ]; then "$@" 2>"$BENCH_ERR"; else "$@"; fi
	rc=$?
	t1=${EPOCHREALTIME/./}
	if [ "$rc" != 0 ]; then
		echo "bench: '$*' failed with exit code $rc; figures would be wrong, stopping" >&2
		[ -n "${BENCH_ERR:-}" ] && [ -f "$BENCH_ERR" ] && tail -5 "$BENCH_ERR" >&2
		exit 1
	fi
	printf -v "$__var" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1000}')"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# check_release BUILD: warn when the build is not optimised like a release
check_release() {
	local bt
	bt=$(meson introspect --buildoptions "$1" 2>/dev/null | jq -r '.[] | select(.name == "buildtype") | .value' 2>/dev/null)
	[ "$bt" = release ] || echo "bench: note: $1 is a '${bt:-unknown}' build; figures for BENCHMARKS.md come from" \
		"'meson setup --buildtype=release'" >&2
}
