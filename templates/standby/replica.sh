#!/bin/sh
# Entry point of kopnik's standby database (collabstack): the first start
# copies the main server's database with pg_basebackup over the
# replication slot and writes the standby settings (-R); every start then
# runs PostgreSQL as a hot standby streaming from the main server. The
# replication password is read from the swarm secret into a .pgpass file
# of the postgres user: it is on no command line.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
as_pg() {
	if command -v gosu >/dev/null 2>&1; then
		gosu postgres "$@"
	else
		runuser -u postgres -- "$@"
	fi
}
home=$(getent passwd postgres | cut -d: -f6)
pw=$(cat /run/secrets/kopnik_replication_password)
umask 077
printf '%s:5432:*:%s:%s\n' "$PRIMARY_HOST" "$REPLICATION_USER" "$pw" >"$home/.pgpass"
chown postgres "$home/.pgpass"
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	echo "standby: waiting for $PRIMARY_HOST"
	until as_pg pg_isready -q -h "$PRIMARY_HOST"; do sleep 2; done
	echo "standby: copying the main database (pg_basebackup, slot $SLOT)"
	as_pg pg_basebackup -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -D "$PGDATA" -X stream -S "$SLOT" -R -c fast
elif [ ! -f "$PGDATA/standby.signal" ]; then
	echo "standby: $PGDATA holds a database that is not a standby (promoted by a failover?); refusing to overwrite it. Remove the volume kopnik_db-data on this host to copy the main database again (collabstack failback does)." >&2
	sleep 60
	exit 1
fi
# A hot standby needs max_connections at least the main server's.
exec docker-entrypoint.sh postgres -c max_connections=1000 -c hot_standby=on
