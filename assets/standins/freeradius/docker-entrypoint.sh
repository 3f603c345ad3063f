#!/bin/sh
# Entry point of the freeradius stand-in, after upstream's: options alone
# (-X, -f ...) mean freeradius with them; `freeradius ARGS` or `radiusd
# ARGS` run `freeradius -f ARGS` in the foreground with the configuration
# in /etc/freeradius (unless -d says otherwise); anything else runs as is.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- freeradius "$@"
fi

case "$1" in
freeradius | radiusd) ;;
*) exec "$@" ;;
esac
shift

cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT freeradius/freeradius-server.         *
*  collabstack built it from Debian's freeradius 3.2.1 for a lab     *
*  without Docker Hub. Configuration: /etc/freeradius (= /etc/raddb).*
*  Do not use it in production.                                      *
**********************************************************************
BANNER

for arg; do
	case "$arg" in
	-d*) exec freeradius -f "$@" ;;
	esac
done
exec freeradius -f -d /etc/freeradius "$@"
