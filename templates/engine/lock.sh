#!/bin/sh
# The apply lock on the first host: stops two applies (from two machines)
# on the same site. Usage: sh -s -- acquire|refresh|release, with HOLDER
# (who holds it), DIR (collabstack's folder on the host, layout.Root) and STALE (seconds after which an unrefreshed lock is
# taken over: the apply that held it was killed) in the environment.
set -eu
: "${HOLDER:?HOLDER must be set}" "${DIR:?DIR must be set}" "${STALE:=90}"
dir=$DIR
file="$dir/apply.lock"
mkdir -p "$dir"
case "${1:-}" in
acquire)
	if [ -f "$file" ]; then
		current=$(cat "$file")
		age=$(($(date +%s) - $(stat -c %Y "$file")))
		if [ "$current" != "$HOLDER" ] && [ "$age" -lt "$STALE" ]; then
			echo "another apply holds the lock: $current (refreshed ${age}s ago)" >&2
			exit 3
		fi
	fi
	printf '%s\n' "$HOLDER" >"$file.new"
	mv "$file.new" "$file"
	;;
takeover)
	# The holder was an apply on this same machine that is gone (killed).
	printf '%s\n' "$HOLDER" >"$file.new"
	mv "$file.new" "$file"
	;;
refresh)
	if [ "$(cat "$file" 2>/dev/null)" = "$HOLDER" ]; then
		touch "$file"
	fi
	;;
release)
	if [ "$(cat "$file" 2>/dev/null)" = "$HOLDER" ]; then
		rm -f "$file"
	fi
	;;
*)
	echo "usage: lock.sh acquire|takeover|refresh|release" >&2
	exit 2
	;;
esac
