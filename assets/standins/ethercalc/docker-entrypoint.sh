#!/bin/sh
# Entry point of the ethercalc stand-in: like the image's command, Redis
# is REDIS_PORT_6379_TCP_ADDR:REDIS_PORT_6379_TCP_PORT when those are set
# (REDIS_HOST and REDIS_PORT otherwise; a link's tcp://... REDIS_PORT is
# dropped); without Redis, EtherCalc keeps sheets on disk in ./dump.
set -eu
cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT audreyt/ethercalc.                    *
*  collabstack built it from EtherCalc on npm and Debian's nodejs    *
*  for a lab without Docker Hub. Do not use it in production.        *
**********************************************************************
BANNER
if [ -n "${REDIS_PORT_6379_TCP_ADDR:-}" ]; then
	export REDIS_HOST="$REDIS_PORT_6379_TCP_ADDR"
fi
if [ -n "${REDIS_PORT_6379_TCP_PORT:-}" ]; then
	export REDIS_PORT="$REDIS_PORT_6379_TCP_PORT"
fi
case "${REDIS_PORT:-}" in
*://*) unset REDIS_PORT ;;
esac
exec "$@"
