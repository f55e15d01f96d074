# SPDX-License-Identifier: MIT
# bash completion for hotpatch(1).  Installed as
# /usr/share/bash-completion/completions/hotpatch.
# The option lists below are checked against `hotpatch CMD --help` by
# tests/integration/t0001-docs.sh: keep one line per command.

_hotpatch_commands="build info apply revert status keygen sign verify history assess install list remove repo agent help"
_hotpatch_global="--verbose --quiet --json --json-seq --version --help"
declare -A _hotpatch_opts=(
	[build]="--target --orig --patched --output --id --level --description --classification --cve --debug-file --source --diff --build-dir --built-in --work-dir --keep --jobs --json --help"
	[info]="--json --help"
	[apply]="--pid --all --exe --comm --unit --jobs --dry-run --timeout --trust-dir --allow-unsigned --allow-downgrade --json --help"
	[revert]="--pid --all --exe --comm --unit --jobs --timeout --json --help"
	[status]="--pid --all --exe --comm --unit --json --help"
	[keygen]="--output --json --help"
	[sign]="--key --output --json --help"
	[verify]="--trust-dir --json --help"
	[install]="--store --trust-dir --json --help"
	[list]="--store --json --help"
	[remove]="--store --revert --json --help"
	[repo]="--package --package-version --release-time --valid-days --serial --store --state --trust-dir --key --now --json --help"
	[agent]="--socket --output --json --help"
	[history]="--pid --patch-id --lines --json --help"
	[assess]="--patch --patch-dir --pid --all --no-stop --trust-dir --allow-unsigned --verbose --json --help"
)

# Processes whose memory maps a file named like the patch's target (apply -p),
# else every process.
_hotpatch_pids() {
	local file=$1 target="" p
	if [ -n "$file" ] && [ -r "$file" ]; then
		target=$(hotpatch info "$file" 2>/dev/null | sed -n 's/^target  *//p')
	fi
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if [ -n "$target" ]; then
			grep -q "/$target\$" "/proc/$p/maps" 2>/dev/null && echo "$p"
		else
			echo "$p"
		fi
	done
}

# Patch ids applied in a process (revert -p PID), read by hotpatch status.
_hotpatch_patch_ids() {
	[ -n "$1" ] || return 0
	hotpatch status --json -p "$1" 2>/dev/null | sed -n 's/.*"patch_id": "\([^"]*\)".*/\1/p'
}

_hotpatch() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd="" i w pid="" file=""

	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				case ${COMP_WORDS[i-1]} in
				-p|--pid|-t|--timeout|-j|--jobs|-o|--output|-k|--key|-C|--source|-B|--*-dir|--patch|--exe|--comm|--unit|--target|--orig|--patched|--id|--level|--description|--classification|--cve|--debug-file|--diff|--built-in) ;;
				*) cmd=$w ;;
				esac
			elif [ "${COMP_WORDS[i-1]}" = -p ] || [ "${COMP_WORDS[i-1]}" = --pid ]; then
				pid=$w
			elif [ -f "$w" ]; then
				file=$w
			fi
			;;
		esac
	done
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_hotpatch_global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_hotpatch_commands" -- "$cur"))
		fi
		return
	fi
	case $prev in
	-p|--pid)
		COMPREPLY=($(compgen -W "$(_hotpatch_pids "$file")" -- "$cur"))
		return ;;
	--exe|--target|--orig|--patched|--debug-file|--diff|--patch|-k|--key|-o|--output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-s|--store|--state|--socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-C|--source|-B|--*-dir|--built-in)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--comm)
		COMPREPLY=($(compgen -W "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u)" -- "$cur"))
		return ;;
	--unit)
		COMPREPLY=($(compgen -W "$(systemctl list-units --no-legend --plain 2>/dev/null | awk '{print $1}')" -- "$cur"))
		return ;;
	--classification)
		COMPREPLY=($(compgen -W "critical security other" -- "$cur"))
		return ;;
	--patch-id)
		COMPREPLY=($(compgen -W "$(_hotpatch_patch_ids "$pid")" -- "$cur"))
		return ;;
	-t|--timeout|-j|--jobs|--id|--level|--description|--cve|-n|--lines)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${_hotpatch_opts[$cmd]} $_hotpatch_global" -- "$cur"))
		return
	fi
	case $cmd in
	help)
		COMPREPLY=($(compgen -W "${_hotpatch_commands% help}" -- "$cur")) ;;
	revert)
		COMPREPLY=($(compgen -W "$(_hotpatch_patch_ids "$pid")" -- "$cur")) ;;
	*)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -F _hotpatch hotpatch
