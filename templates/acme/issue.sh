# Get (or extend) the certificate {{.Name}} by HTTP-01: certbot writes the
# challenge under the webroot, which the edge nginx serves at
# /.well-known/acme-challenge/. The deploy hook copies the certificate to
# where nginx reads it and makes nginx reload it; certbot runs the same
# hook after every renewal.
name={{q .Name}}
webroot={{q .Webroot}}
server={{q .Server}}
email={{q .Email}}
ca_file={{q .CAFile}}
hook=/etc/letsencrypt/renewal-hooks/deploy/collabstack-$name.sh

mkdir -p "$webroot" "$(dirname "$hook")"
cat > "$hook.new" <<'HOOK'
{{.Hook}}
HOOK
chmod 0755 "$hook.new"
mv "$hook.new" "$hook"

if [ -n "$ca_file" ]; then
	REQUESTS_CA_BUNDLE=$ca_file
	export REQUESTS_CA_BUNDLE
fi
set -- certonly --webroot --webroot-path "$webroot" --cert-name "$name" \
	--non-interactive --agree-tos --email "$email" --server "$server" \
	--keep-until-expiring --expand
for d in {{range .Domains}}{{q .}} {{end}}; do
	set -- "$@" --domain "$d"
done
certbot "$@"
# certbot runs deploy hooks only when it got a new certificate; run it
# here too, so a certificate from an earlier, interrupted run is installed.
RENEWED_LINEAGE=/etc/letsencrypt/live/$name "$hook"
