# The main server's database accepts the standby: a replication role with
# the generated password (read on stdin, passed to psql on its stdin), a
# physical replication slot so that the main server keeps the WAL the
# standby has not received, and a pg_hba.conf line for replication
# connections with that role (scram-sha-256). wal_level=replica and
# max_wal_senders=10 are PostgreSQL's defaults and are not changed.
IFS= read -r pw || { echo "no password on stdin" >&2; exit 2; }
user={{q .User}}
slot={{q .Slot}}
c=$(docker ps -q -f label=com.docker.swarm.service.name=kopnik_db | head -n1)
if [ -z "$c" ]; then
	echo "kopnik_db does not run on this host: deploy kopnik first" >&2
	exit 1
fi
psql_() {
	# shellcheck disable=SC2016 # expanded inside the container
	docker exec -i "$c" sh -c 'psql -v ON_ERROR_STOP=1 -qtA -U "${POSTGRES_USER:-postgres}" -d postgres'
}
has() { [ "$(echo "$1" | psql_)" = 1 ]; }
if ! has "SELECT 1 FROM pg_roles WHERE rolname = '$user' AND rolreplication"; then
	todo "create the replication role $user"
	printf "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s; END IF; END\$\$;\nALTER ROLE %s WITH REPLICATION LOGIN PASSWORD '%s';\n" "$user" "$user" "$user" "$pw" | psql_
fi
if ! has "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$slot'"; then
	todo "create the replication slot $slot"
	echo "SELECT 1 FROM pg_create_physical_replication_slot('$slot')" | psql_ >/dev/null
fi
line="host replication $user all scram-sha-256"
# shellcheck disable=SC2016
if ! docker exec "$c" sh -c 'grep -qxF "$1" "$PGDATA/pg_hba.conf"' sh "$line"; then
	todo "let $user connect for replication (pg_hba.conf)"
	# shellcheck disable=SC2016
	docker exec "$c" sh -c 'printf "%s\n" "$1" >>"$PGDATA/pg_hba.conf"' sh "$line"
	echo "SELECT pg_reload_conf()" | psql_ >/dev/null
fi
