#!/bin/sh
# pnpm of the etherpad stand-in. Upstream's image (etherpad/etherpad 2.x,
# Dockerfile CMD ["pnpm", "run", "prod"]) is started with `pnpm run prod`
# and installs plugins with `pnpm run install-plugins <plugins>`; stacks
# call both. This stand-in runs Etherpad 1.8 from npm and has no pnpm,
# so the two scripts map onto its own start; plugins cannot be installed
# here (npm is not in the image): the stand-in says so and fails.
set -eu
case "${1:-} ${2:-}" in
"run prod")
	cd /opt/etherpad-lite
	exec node src/node/server.js
	;;
"run install-plugins" | "run plugins")
	shift 2
	echo "etherpad stand-in: cannot install plugins ($*): Etherpad 1.8 from npm, without npm in the image" >&2
	exit 1
	;;
esac
echo "etherpad stand-in: pnpm $*: only 'run prod' and 'run install-plugins' are known" >&2
exit 1
