# `collabstack backup check`: restore one database dump of the backup
# into a scratch container of the same image as the database service it
# came from (no network, data on tmpfs, removed at the end) and count its
# tables: the dump is not only there, it loads.
snapshot={{q .Snapshot}}
file={{q .File}}
svc={{q .Service}}
db={{q .DB}}
restic_() { {{range .Restic}}{{q .}} {{end}}"$@"; }
c=$(docker ps -q -f "label=com.docker.swarm.service.name=$svc" | head -n1)
[ -n "$c" ] || { echo "the database service $svc does not run on this host, so its image is not here: deploy the site first" >&2; exit 1; }
# The running container's image by its ID: always here, never pulled.
image=$(docker inspect -f '{{"{{"}}.Image{{"}}"}}' "$c")
name="collabstack-check-$$"
trap 'docker rm -f -v "$name" >/dev/null 2>&1' EXIT
docker run -d --name "$name" --network none --tmpfs /var/lib/postgresql/data -e POSTGRES_HOST_AUTH_METHOD=trust "$image" >/dev/null
i=0
# Ready once the image's first-start initialisation is over (its last
# line) and the final server answers.
until docker logs "$name" 2>&1 | grep -qE "init process complete|initialised" && docker exec "$name" pg_isready -q -U postgres; do
	i=$((i + 1))
	[ $i -lt 90 ] || { echo "the scratch database did not start:" >&2; docker logs "$name" 2>&1 | tail -n 5 >&2; exit 1; }
	sleep 1
done
# The maintenance database postgres exists in the scratch container: its
# dump goes into it; any other is created from its dump.
if [ "$db" = postgres ]; then
	restic_ dump "$snapshot" "$file" | docker exec -i "$name" pg_restore -U postgres -d postgres --no-owner --no-privileges
else
	restic_ dump "$snapshot" "$file" | docker exec -i "$name" pg_restore -U postgres -d postgres --create --no-owner --no-privileges
fi
tables=$(docker exec "$name" psql -U postgres -d "$db" -tAc "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
echo "test restore: database $db of $svc loaded into a scratch container ($image): $tables tables"
