# One request to Keycloak's API, rendered by collabstack (steps/identity)
# and fed on stdin to sh on the swarm manager: curl through the edge on
# this host (--resolve NAME:PORT:127.0.0.1, as the health probes do), so
# the request comes from the host itself, inside the admin networks the
# edge lets reach /admin. The token and the body (which may hold client
# secrets and the directory's bind password) go into files of a private
# temporary folder, never onto a command line. Prints the status code on
# the first line, then the answer's body.
umask 077
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf '%s' {{q .Body}} >"$d/body"
: >"$d/conf"
{{- if .Token}}
printf 'header = "Authorization: Bearer %s"\n' {{q .Token}} >"$d/conf"
{{- end}}
set -- -sS -k --http1.1 --max-time 60 --resolve {{q .Resolve}} -X {{q .Method}} -H 'Accept: application/json' \
	--config "$d/conf" -o "$d/out" -w '%{http_code}'
{{- if .Body}}
set -- "$@" -H {{q (printf "Content-Type: %s" .ContentType)}} --data-binary @"$d/body"
{{- end}}
code=$(curl "$@" {{q .URL}})
printf '%s\n' "$code"
cat "$d/out"
