#!/bin/sh
# Entry point of the etherpad stand-in: says what it is, then runs the
# command (Etherpad reads its settings from the environment itself).
set -eu
cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT etherpad/etherpad (2.x).              *
*  collabstack built it from Etherpad 1.8.14 (npm ep_etherpad-lite)  *
*  on Debian's nodejs for a lab without Docker Hub. Do not use it in *
*  production.                                                       *
**********************************************************************
BANNER
exec "$@"
