#!/bin/sh
# Entry point of the gotosocial stand-in: says what it is, then starts
# GoToSocial as upstream's ENTRYPOINT does (gotosocial server start),
# with any arguments of the stack's command after it.
set -eu
cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT superseriousbusiness/gotosocial.      *
*  collabstack built GoToSocial 0.17.3 from its Go module (Go module *
*  proxy) for a lab without Docker Hub; the web bundle (CSS) is not  *
*  built. Do not use it in production.                               *
**********************************************************************
BANNER
exec /gotosocial/gotosocial server start "$@"
