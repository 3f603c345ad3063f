#!/bin/sh
# Entry point of the redis (and valkey) stand-in, after the official
# image's: options or a *.conf file as the first argument mean
# redis-server with them; as root it owns /data and starts again as
# redis. Like the official build, protected mode is off unless the
# arguments or the config file set it, so other containers may connect
# (set --requirepass to guard it).
set -eu

if [ "${1#-}" != "${1:-}" ] || [ "${1%.conf}" != "${1:-}" ]; then
	set -- redis-server "$@"
fi

case "${1:-}" in
redis-server | valkey-server) ;;
*) exec "$@" ;;
esac

if [ -z "${STANDIN_BANNER_SHOWN:-}" ]; then
	cat >&2 <<-'BANNER'
	**********************************************************************
	*  STAND-IN IMAGE: this is NOT the official redis/valkey image.      *
	*  collabstack built it from Debian's redis-server (7.0) for a lab   *
	*  without Docker Hub. Do not use it in production.                  *
	**********************************************************************
	BANNER
	export STANDIN_BANNER_SHOWN=1
fi

if [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# Protected mode: off unless asked for on the command line or in the
# config file (the first argument after the program, if it is a file).
protected=
for arg; do
	case "$arg" in
	--protected-mode | --protected-mode=*) protected=yes ;;
	esac
done
if [ $# -ge 2 ] && [ "${2#-}" = "$2" ] && [ -r "$2" ] && grep -qiE '^[[:space:]]*protected-mode' "$2"; then
	protected=yes
fi
if [ -z "$protected" ]; then
	if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then
		prog=$1
		conf=$2
		shift 2
		set -- "$prog" "$conf" --protected-mode no "$@"
	else
		prog=$1
		shift
		set -- "$prog" --protected-mode no "$@"
	fi
fi

if [ "$(umask)" = 0022 ]; then
	umask 0077
fi
exec "$@"
