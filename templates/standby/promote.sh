# Failover: promote the standby database on this host to a primary, then
# leave the main server's swarm (the replica's container goes; its volume
# kopnik_db-data, now a primary's data, stays for the kopnik stack).
c=$(docker ps -q -f label=com.docker.swarm.service.name=kopnik-standby_replica | head -n1)
if [ -n "$c" ]; then
	if [ "$(docker exec "$c" psql -qtA -U {{q .Superuser}} -d postgres -c "SELECT pg_is_in_recovery()")" = t ]; then
		todo "promote the standby database"
		docker exec "$c" psql -qtA -U {{q .Superuser}} -d postgres -c "SELECT pg_promote(true, 60)"
	fi
	# A clean stop writes everything promoted to the volume.
	docker stop -t 60 "$c" >/dev/null
elif ! docker volume inspect kopnik_db-data >/dev/null 2>&1; then
	echo "this host has no standby database (volume kopnik_db-data): nothing to promote" >&2
	exit 1
fi
if [ "$(docker info --format '{{"{{"}}.Swarm.LocalNodeState{{"}}"}}')" = active ] && [ "$(docker info --format '{{"{{"}}.Swarm.ControlAvailable{{"}}"}}')" != true ]; then
	todo "leave the old swarm"
	docker swarm leave --force
fi
