# Restore this host from its backup in the repository: PHASE=fetch brings the database dumps and the list of backed-up
# folders to a scratch folder; PHASE=files puts the volumes and data
# folders back in place (volumes emptied first); PHASE=db loads the dumps
# into the running database services. collabstack stops the services
# that use the files before PHASE=files and starts them after PHASE=db.
node={{q .Node}}
state={{q .State}}
work="$state/restore"
run_tag={{q .Run}}
set -- latest --host "$node" --tag collabstack
[ -z "$run_tag" ] || set -- "$@" --tag "run=$run_tag"
restic_() { {{range .Restic}}{{q .}} {{end}}"$@"; }

case ${PHASE:-} in
fetch)
	rm -rf "$work"
	mkdir -p "$work"
	chmod 700 "$work"
	restic_ restore "$@" --target "$work" --include "$state/dumps" --include "$state/paths" >&2
	[ -f "$work$state/paths" ] || { echo "the backup of $node has no list of folders: it was not made by collabstack" >&2; exit 1; }
	# The database services whose dumps are in the backup, one a line.
	[ ! -d "$work$state/dumps" ] || ls "$work$state/dumps"
	;;
files)
	while IFS= read -r p; do
		case $p in
		/var/lib/docker/volumes/*/_data)
			mkdir -p "$p"
			find "$p" -mindepth 1 -delete
			;;
		esac
	done <"$work$state/paths"
	restic_ restore "$@" --target / --exclude "$state" >&2
	echo "restored the folders of $node"
	;;
db)
	[ -d "$work$state/dumps" ] || exit 0
	for d in "$work$state/dumps"/*/; do
		# A host without databases backs up an empty dumps folder: the
		# pattern then stays as it is.
		[ -d "$d" ] || continue
		d=${d%/}
		svc=${d##*/}
		kind=$(cat "$d/kind")
		c=""
		i=0
		while [ -z "$c" ] && [ $i -lt 60 ]; do
			c=$(docker ps -q -f "label=com.docker.swarm.service.name=$svc" | head -n1)
			[ -n "$c" ] || { sleep 2; i=$((i + 1)); }
		done
		[ -n "$c" ] || { echo "the database service $svc does not run on $node: deploy the site first (collabstack apply)" >&2; exit 1; }
		case $kind in
		postgres)
			i=0
			# shellcheck disable=SC2016 # expanded inside the container
			until docker exec "$c" sh -c 'pg_isready -q -h 127.0.0.1 -U "${POSTGRES_USER:-postgres}"'; do
				i=$((i + 1))
				[ $i -lt 60 ] || { echo "$svc does not accept connections" >&2; exit 1; }
				sleep 2
			done
			# Roles first; those that exist already stay (their password
			# hashes come from the dump). Nothing of it is printed.
			# shellcheck disable=SC2016
			docker exec -i "$c" sh -c 'psql -q -U "${POSTGRES_USER:-postgres}" -d postgres' <"$d/globals.sql" >/dev/null 2>&1 || true
			for f in "$d"/*.pgdump; do
				[ -f "$f" ] || continue
				db=$(basename "$f" .pgdump)
				echo "restoring database $db of $svc"
				if [ "$db" = postgres ]; then
					# shellcheck disable=SC2016
					docker exec -i "$c" sh -c 'exec pg_restore -U "${POSTGRES_USER:-postgres}" -d postgres --clean --if-exists' <"$f"
				else
					# shellcheck disable=SC2016
					docker exec "$c" sh -c 'psql -v ON_ERROR_STOP=1 -q -U "${POSTGRES_USER:-postgres}" -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"' sh "$db"
					# shellcheck disable=SC2016
					docker exec -i "$c" sh -c 'exec pg_restore -U "${POSTGRES_USER:-postgres}" -d postgres --create' <"$f"
				fi
			done
			;;
		mariadb)
			echo "restoring the databases of $svc"
			# shellcheck disable=SC2016
			docker exec -i "$c" sh -c 'pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; f="${MARIADB_ROOT_PASSWORD_FILE:-${MYSQL_ROOT_PASSWORD_FILE:-}}"; [ -z "$f" ] || pw=$(cat "$f"); m=$(command -v mariadb || command -v mysql); MYSQL_PWD="$pw" exec "$m" -uroot' <"$d/all.sql"
			;;
		esac
	done
	rm -rf "$work"
	;;
*)
	echo "PHASE must be fetch, files or db" >&2
	exit 2
	;;
esac
