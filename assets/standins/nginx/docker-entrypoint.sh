#!/bin/sh
# nginx stand-in: renders /etc/nginx/templates/*.template with envsubst
# into /etc/nginx/conf.d (only variables set in the environment, like the
# official image), then runs the command.
set -eu
if [ "${1:-}" = nginx ] && [ -d /etc/nginx/templates ]; then
	vars=$(env | cut -d= -f1 | sed 's/^/$/' | tr '\n' ' ')
	for t in /etc/nginx/templates/*.template; do
		[ -f "$t" ] || continue
		out="/etc/nginx/conf.d/$(basename "$t" .template)"
		envsubst "$vars" < "$t" > "$out"
	done
fi
exec "$@"
