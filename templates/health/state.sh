# Reads what the swarm says of one stack and runs its probes, in one round
# trip (steps/health parses the lines):
#   S<TAB>service<TAB>mode<TAB>replicas            docker stack services
#   T<TAB>id<TAB>name<TAB>node<TAB>desired<TAB>state<TAB>error   docker stack ps --no-trunc
#   P<TAB>index<TAB>ok|fail|elsewhere<TAB>detail   one line per probe
# It only reads: nothing here changes the swarm. Probes go through the
# edge on this host (curl --resolve NAME:PORT:127.0.0.1), so TLS, the
# vhost and the routing are tested too.
set +e
stack={{q .Stack}}

docker stack services --format {{q .ServiceFormat}} "$stack" 2>/dev/null
docker stack ps --no-trunc --format {{q .TaskFormat}} "$stack" 2>/dev/null

# flat TEXT: one line of at most 300 characters, for a detail field.
flat() {
	head -c 300 | tr -s '\r\n\t' '   '
}

# probe_http IDX NAME PORT PATH STATUS TEXT: GET https://NAME:PORT/PATH
# through the edge answers STATUS (0: any status below 500, the app
# answered and the edge reached it) and its page holds TEXT.
probe_http() {
	body=$(mktemp)
	code=$(curl -sk --http1.1 -o "$body" -w '%{http_code}' --max-time 10 \
		--resolve "$2:$3:127.0.0.1" "https://$2:$3$4" 2>/dev/null)
	rc=$?
	want=$5
	if [ "$want" = 0 ] && [ "${code:-000}" != 000 ] && [ "$code" -lt 500 ]; then
		want=$code
	fi
	if [ "$code" != "$want" ]; then
		if [ "$code" = 000 ] || [ -z "$code" ]; then
			printf 'P\t%s\tfail\tno answer from https://%s:%s%s (curl exit %s)\n' "$1" "$2" "$3" "$4" "$rc"
		else
			[ "$want" != 0 ] || want="a status below 500"
			printf 'P\t%s\tfail\tHTTP %s instead of %s: %s\n' "$1" "$code" "$want" "$(flat <"$body")"
		fi
	elif [ -n "$6" ] && ! grep -qF -- "$6" "$body"; then
		printf 'P\t%s\tfail\tHTTP %s but the page does not say "%s": %s\n' "$1" "$code" "$6" "$(flat <"$body")"
	else
		printf 'P\t%s\tok\tHTTP %s\n' "$1" "$code"
	fi
	rm -f "$body"
}

# probe_ws IDX NAME PORT PATH PROTOCOL: the path upgrades to a websocket
# (101 Switching Protocols) offering the subprotocol PROTOCOL.
probe_ws() {
	if [ -n "$5" ]; then
		set -- "$1" "$2" "$3" "$4" -H "Sec-WebSocket-Protocol: $5"
	else
		set -- "$1" "$2" "$3" "$4" -H "X-Collabstack-Probe: ws"
	fi
	# After the 101 curl waits for frames: it runs in the background with
	# the response headers dumped to a file, and is stopped as soon as the
	# status line is there (at most 5 s).
	# The key is RFC 6455's example nonce: 16 bytes, 24 characters ending in
	# "==", as servers check (autobahn, under Crossbar, refuses any other
	# length with a 400).
	hdr=$(mktemp)
	curl -sk --http1.1 -o /dev/null -D "$hdr" --max-time 5 \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$5" "$6" \
		--resolve "$2:$3:127.0.0.1" "https://$2:$3$4" 2>/dev/null &
	pid=$!
	i=0
	while [ "$i" -lt 50 ] && ! grep -q '^HTTP/[0-9.]* [0-9][0-9][0-9]' "$hdr" && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	code=$(sed -n 's/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$hdr" | tail -n1)
	rm -f "$hdr"
	if [ "$code" = 101 ]; then
		printf 'P\t%s\tok\tHTTP 101, upgraded to a websocket\n' "$1"
	else
		printf 'P\t%s\tfail\tHTTP %s instead of 101 Switching Protocols\n' "$1" "${code:-000}"
	fi
}

# node_addr SERVICE: the address of a node running SERVICE (127.0.0.1 for
# this one), or nothing.
node_addr() {
	node=$(docker service ps --filter desired-state=running --format '{{"{{.Node}}"}}' "$1" 2>/dev/null | head -n1)
	[ -n "$node" ] || return 0
	if [ "$node" = "$(hostname)" ]; then
		echo 127.0.0.1
	else
		docker node inspect --format '{{"{{.Status.Addr}}"}}' "$node" 2>/dev/null
	fi
}

# probe_tcp IDX SERVICE PORT TLS NAME: the port SERVICE publishes accepts
# connections (TLS=1: and completes a TLS handshake for NAME).
probe_tcp() {
	addr=$(node_addr "$2")
	if [ -z "$addr" ]; then
		printf 'P\t%s\tfail\tno running task of %s\n' "$1" "$2"
		return
	fi
	if [ "$4" = 1 ]; then
		if echo | timeout 10 openssl s_client -connect "$addr:$3" -servername "$5" >/dev/null 2>&1; then
			printf 'P\t%s\tok\tTLS handshake on %s:%s\n' "$1" "$addr" "$3"
		else
			printf 'P\t%s\tfail\tno TLS handshake on %s:%s\n' "$1" "$addr" "$3"
		fi
	elif timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$3" 2>/dev/null; then
		printf 'P\t%s\tok\tTCP %s:%s accepts connections\n' "$1" "$addr" "$3"
	else
		printf 'P\t%s\tfail\tTCP %s:%s refuses connections\n' "$1" "$addr" "$3"
	fi
}

# probe_exec IDX SERVICE TEXT COMMAND: COMMAND (sh -c) in a running
# container of SERVICE exits 0 and prints TEXT. A container on another
# node is reported as elsewhere with that node's name.
probe_exec() {
	id=$(docker ps -q --filter status=running --filter "label=com.docker.swarm.service.name=$2" | head -n1)
	if [ -z "$id" ]; then
		node=$(docker service ps --filter desired-state=running --format '{{"{{.Node}}"}}' "$2" 2>/dev/null | head -n1)
		if [ -n "$node" ] && [ "$node" != "$(hostname)" ]; then
			printf 'P\t%s\telsewhere\t%s\n' "$1" "$node"
		else
			printf 'P\t%s\tfail\tno running container of %s\n' "$1" "$2"
		fi
		return
	fi
	out=$(timeout 20 docker exec "$id" sh -c "$4" 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		printf 'P\t%s\tfail\texit %s: %s\n' "$1" "$rc" "$(printf '%s' "$out" | flat)"
	elif [ -n "$3" ] && ! printf '%s' "$out" | grep -qF -- "$3"; then
		printf 'P\t%s\tfail\tthe answer does not say "%s": %s\n' "$1" "$3" "$(printf '%s' "$out" | flat)"
	else
		printf 'P\t%s\tok\t%s\n' "$1" "$(printf '%s' "$out" | flat)"
	fi
}
# The probes run side by side, each into its own file, printed when all
# are done.
out=$(mktemp -d)
{{range $i, $p := .Probes}}
{{- if eq $p.Kind "http"}}
probe_http {{$i}} {{q $p.Host}} {{$p.Port}} {{q $p.Path}} {{$p.Status}} {{q $p.Text}} >"$out/{{$i}}" &
{{- else if eq $p.Kind "ws"}}
probe_ws {{$i}} {{q $p.Host}} {{$p.Port}} {{q $p.Path}} {{q $p.Protocol}} >"$out/{{$i}}" &
{{- else if eq $p.Kind "tcp"}}
probe_tcp {{$i}} {{q $p.Service}} {{$p.Port}} {{if $p.TLS}}1{{else}}0{{end}} {{q $p.Host}} >"$out/{{$i}}" &
{{- else if eq $p.Kind "exec"}}
probe_exec {{$i}} {{q $p.Service}} {{q $p.Text}} {{q $p.Command}} >"$out/{{$i}}" &
{{- end}}
{{end}}
wait
cat "$out"/* 2>/dev/null
rm -rf "$out"
exit 0
