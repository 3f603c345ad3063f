# kp-server's database schema, initialised once: done when its tables
# exist. The init runs inside the running server container (it has the
# sources, the dependencies, the config secret and the stack network);
# then the server and the file server restart, since the server's first
# WAMP session failed on the missing tables.
dir={{q .Dir}}
init={{q .Init}}
uid={{q .UID}}
ctr() {
	docker ps -q -f "label=com.docker.swarm.service.name=$1" -f status=running | head -n1
}
db=""
i=0
while :; do
	db=$(ctr kopnik_db)
	if [ -n "$db" ] && docker exec "$db" pg_isready -q -h 127.0.0.1 -U kopnik -d kopnik; then
		break
	fi
	if [ "${MODE:-apply}" = check ]; then
		todo "wait for the database to start"
	fi
	i=$((i + 1))
	if [ "$i" -gt 90 ]; then
		echo "the database (service kopnik_db) did not start: docker service ps kopnik_db --no-trunc" >&2
		exit 1
	fi
	sleep 2
done
tables() {
	docker exec "$db" psql -U kopnik -d kopnik -tAc "SELECT to_regclass('public.\"Kopnik\"') IS NOT NULL AND to_regclass('public.\"Zemla\"') IS NOT NULL"
}
if [ "$(tables)" = t ]; then
	exit 0
fi
todo "initialise kp-server's database schema"
mkdir -p "$dir/.collabstack"
cat > "$dir/.collabstack/init-schema.js"
chown -R "$uid:$uid" "$dir/.collabstack"
node=""
i=0
while [ -z "$node" ]; do
	node=$(ctr kopnik_node)
	i=$((i + 1))
	if [ -z "$node" ] && [ "$i" -gt 90 ]; then
		echo "the server (service kopnik_node) did not start: docker service ps kopnik_node --no-trunc" >&2
		exit 1
	fi
	[ -n "$node" ] || sleep 2
done
docker exec -u "$uid:$uid" -w /app -e NODE_ENV=production -e HOME=/tmp "$node" sh -c "exec $init"
if [ "$(tables)" != t ]; then
	echo "'$init' ran but kp-server's tables (\"Kopnik\", \"Zemla\") are still missing" >&2
	exit 1
fi
for s in kopnik_node kopnik_files; do
	if docker service inspect "$s" >/dev/null 2>&1; then
		# Not detached: the apply goes on (to the probes, to "done") only
		# once the restarted tasks run, never while they are replaced.
		docker service update --force --quiet "$s" >/dev/null
	fi
done
