# SPDX-License-Identifier: MIT
# Shared by the demo scripts (sourced): colours, and the helpers that show a
# step, show and run a command, stop with a message, and talk to the service
# on $PORT.  A script may define demo_on_die to add to the message.
if [ -t 1 ]; then B=$'\e[1m'; R=$'\e[31m'; G=$'\e[32m'; N=$'\e[0m'; else B= R= G= N=; fi

step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
# Show a command, then run it.
run() {
	local a shown=
	for a in "$@"; do
		case $a in *[[:space:]]*) shown+=" '$a'" ;; *) shown+=" $a" ;; esac
	done
	printf '%s$%s%s\n' "$B" "$shown" "$N"
	"$@"
}
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	declare -F demo_on_die >/dev/null && demo_on_die
	exit 1
}

# ask LINE...: one connection to the service; each line is sent and its one-line answer shown.
ask() {
	local l reply
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || die "cannot connect to the service on port $PORT"
	for l in "$@" QUIT; do
		printf '    > %s\n' "$l"
		printf '%s\n' "$l" >&3
		IFS= read -r -t 5 reply <&3 || die "no answer from the service"
		case $reply in
		*"(admin)"* | "the launch code"*) printf '    < %s%s%s\n' "$R" "$reply" "$N" ;;
		ERR*) printf '    < %s%s%s\n' "$G" "$reply" "$N" ;;
		*) printf '    < %s\n' "$reply" ;;
		esac
	done
	exec 3>&-
}
