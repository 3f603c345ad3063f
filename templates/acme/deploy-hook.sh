#!/bin/sh
# Written by collabstack: installs the renewed certificate {{.Name}} where
# the edge nginx reads it, then makes nginx reload its certificates.
set -eu
name={{q .Name}}
[ "${RENEWED_LINEAGE:-}" = "/etc/letsencrypt/live/$name" ] || exit 0
dest={{q .Dest}}
mkdir -p "$dest"
umask 077
cp -L "$RENEWED_LINEAGE/privkey.pem" "$dest/privkey.pem.new"
cp -L "$RENEWED_LINEAGE/fullchain.pem" "$dest/fullchain.pem.new"
chmod 0644 "$dest/fullchain.pem.new"
mv "$dest/privkey.pem.new" "$dest/privkey.pem"
mv "$dest/fullchain.pem.new" "$dest/fullchain.pem"
echo "installed the certificate $name in $dest"
service={{q .Service}}
if [ -n "$service" ] && command -v docker >/dev/null 2>&1; then
	for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=$service"); do
		docker kill --signal HUP "$c" >/dev/null && echo "nginx of $service reloads its certificates"
	done
fi
