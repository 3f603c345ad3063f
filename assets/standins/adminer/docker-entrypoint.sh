#!/bin/sh
# Entry point of the adminer stand-in, after the official image's: links
# the ADMINER_DESIGN stylesheet on first start and writes a
# plugins-enabled/ file for each plugin in ADMINER_PLUGINS, then runs the
# command (PHP's built-in server on port 8080).
set -eu

cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT the official adminer image.           *
*  collabstack built it from Debian's adminer 4.8.1 and php-cli for  *
*  a lab without Docker Hub. Do not use it in production.            *
**********************************************************************
BANNER

cd /var/www/html
if [ -n "${ADMINER_DESIGN:-}" ] && [ ! -e .adminer-init ]; then
	# Only on the first start, so a changed adminer.css is kept.
	ln -sf "designs/$ADMINER_DESIGN/adminer.css" adminer.css
fi
n=1
for plugin in ${ADMINER_PLUGINS:-}; do
	file=$(printf 'plugins-enabled/%03d-%s.php' "$n" "$plugin")
	if [ ! -f "plugins-enabled/$plugin.php" ] && [ ! -f "$file" ]; then
		tmp=$(mktemp)
		if php plugin-loader.php "$plugin" >"$tmp"; then
			mv "$tmp" "$file"
		else
			rm -f "$tmp"
			exit 1
		fi
	fi
	n=$((n + 1))
done
touch .adminer-init 2>/dev/null || true
exec "$@"
