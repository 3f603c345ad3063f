#!/bin/sh
# collabstack backup of this host, rendered by collabstack.
# Run by collabstack-backup.timer, and by `collabstack backup --now`.
# 1. dumps every database that runs here inside its own container
#    (pg_dump / mariadb-dump through docker exec: passwords stay in the
#    container, never on a command line);
# 2. backs up the dumps, every other named volume and the data folders to
#    every repository with restic (encrypted, deduplicated);
# 3. on the manager, applies the retention policy;
# 4. writes the result to last.json in the state folder for `collabstack status`,
#    and as metrics for node-exporter's textfile collector (the monitoring
#    component alerts on a failed or missed backup).
# RUN_TAG names the run (the same on every host of one `backup --now`);
# JSON=1 streams restic's JSON progress lines for collabstack's bar.
set -eu
LC_ALL=C
export LC_ALL
node={{q .Node}}
state={{q .State}}
conf={{q .Conf}}
metrics={{q .Metrics}}
dumps="$state/dumps"
run_tag="${RUN_TAG:-$(date -u +%Y%m%d-%H%M)}"
export RESTIC_PASSWORD_FILE="$conf/key"
export RESTIC_CACHE_DIR=/var/cache/collabstack-restic
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$state" "$dumps"
chmod 700 "$state"

result() { # ok snapshot added error
	tmp="$state/last.json.tmp"
	printf '{"started":"%s","finished":"%s","run":"%s","ok":%s,"snapshots":"%s","added":%s,"error":"%s"}\n' \
		"$started" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$run_tag" "$1" "$2" "${3:-0}" \
		"$(printf '%s' "${4:-}" | tr -d '"\\\n' | cut -c1-300)" >"$tmp"
	mv "$tmp" "$state/last.json"
	# Metrics, each file written whole then renamed (the collector reads
	# *.prom only): the run's result every time, the time of the last
	# success only when it succeeded.
	mkdir -p "$metrics"
	chmod 755 "$metrics"
	now=$(date -u +%s)
	ok=0
	[ "$1" = true ] && ok=1
	printf '# HELP collabstack_backup_last_run_ok 1 when the last backup run of this host succeeded.\n# TYPE collabstack_backup_last_run_ok gauge\ncollabstack_backup_last_run_ok %s\n# HELP collabstack_backup_last_run_timestamp_seconds When the last backup run of this host ended.\n# TYPE collabstack_backup_last_run_timestamp_seconds gauge\ncollabstack_backup_last_run_timestamp_seconds %s\n' "$ok" "$now" >"$metrics/backup_run.prom.tmp"
	chmod 644 "$metrics/backup_run.prom.tmp"
	mv "$metrics/backup_run.prom.tmp" "$metrics/backup_run.prom"
	if [ "$ok" = 1 ]; then
		printf '# HELP collabstack_backup_last_success_timestamp_seconds When the last successful backup of this host ended.\n# TYPE collabstack_backup_last_success_timestamp_seconds gauge\ncollabstack_backup_last_success_timestamp_seconds %s\n' "$now" >"$metrics/backup_success.prom.tmp"
		chmod 644 "$metrics/backup_success.prom.tmp"
		mv "$metrics/backup_success.prom.tmp" "$metrics/backup_success.prom"
	fi
}
# mail_failure REASON: tells the site's admin through the site's relay
# (the smtp app), when its task runs on this host: the mail goes in by
# the relay's own sendmail (docker exec), as the site's noreply sender,
# which the relay accepts. Elsewhere `collabstack status` says it.
mail_failure() {
	to={{q .MailTo}}
	from={{q .MailFrom}}
	relay_service={{q .Relay}}
	[ -n "$to" ] || return 0
	relay=$(docker ps -q -f "label=com.docker.swarm.service.name=$relay_service" 2>/dev/null | head -n1)
	if [ -z "$relay" ]; then
		echo "no mail relay runs on $node: the failure is not mailed (collabstack status shows it)" >&2
		return 0
	fi
	printf 'From: %s\nTo: %s\nSubject: collabstack backup of %s FAILED\n\nThe backup of %s (run %s) failed at %s:\n\n%s\n\njournalctl -u collabstack-backup on %s has the whole run; collabstack status shows the last result of every host.\n' \
		"$from" "$to" "$node" "$node" "$run_tag" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$node" |
		docker exec -i "$relay" sendmail -t -f "$from" && echo "mailed the failure to $to through the relay" >&2 ||
		echo "the relay did not take the failure mail" >&2
}
fail() {
	echo "backup failed: $*" >&2
	result false "" 0 "$*"
	mail_failure "$*" || true
	exit 1
}

# --- 1. databases ---------------------------------------------------------
rm -rf "$dumps"
mkdir -p "$dumps"
db_volumes=""
for c in $(docker ps -q); do
	svc=$(docker inspect -f '{{"{{"}}index .Config.Labels "com.docker.swarm.service.name"{{"}}"}}' "$c")
	[ -n "$svc" ] || continue
	kind=""
	if docker exec "$c" sh -c 'command -v pg_dump >/dev/null && [ -n "${PGDATA:-}" ]' 2>/dev/null; then
		kind=postgres
	elif docker exec "$c" sh -c 'command -v mariadb-dump >/dev/null || command -v mysqldump >/dev/null' 2>/dev/null; then
		kind=mariadb
	fi
	[ -n "$kind" ] || continue
	out="$dumps/$svc"
	mkdir -p "$out"
	echo "dumping $kind of $svc"
	case $kind in
	postgres)
		# Local connections in the postgres images are trusted: no password.
		# shellcheck disable=SC2016 # expanded inside the container
		dbs=$(docker exec "$c" sh -c 'psql -U "${POSTGRES_USER:-postgres}" -d postgres -tAc "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"') ||
			fail "list the databases of $svc"
		# shellcheck disable=SC2016
		docker exec "$c" sh -c 'exec pg_dumpall -U "${POSTGRES_USER:-postgres}" --globals-only' >"$out/globals.sql" ||
			fail "dump the roles of $svc"
		for db in $dbs; do
			# shellcheck disable=SC2016
			docker exec "$c" sh -c 'exec pg_dump -U "${POSTGRES_USER:-postgres}" -Fc -d "$1"' sh "$db" >"$out/$db.pgdump" ||
				fail "dump database $db of $svc"
		done
		;;
	mariadb)
		# The root password is read inside the container, from its
		# environment or its secret file.
		# shellcheck disable=SC2016
		docker exec "$c" sh -c 'pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; f="${MARIADB_ROOT_PASSWORD_FILE:-${MYSQL_ROOT_PASSWORD_FILE:-}}"; [ -z "$f" ] || pw=$(cat "$f"); d=$(command -v mariadb-dump || command -v mysqldump); MYSQL_PWD="$pw" exec "$d" -uroot --all-databases --single-transaction --routines --events' >"$out/all.sql" ||
			fail "dump the databases of $svc"
		;;
	esac
	echo "$kind" >"$out/kind"
	vols=$(docker inspect -f '{{"{{"}}range .Mounts{{"}}"}}{{"{{"}}if eq .Type "volume"{{"}}"}}{{"{{"}}.Name{{"}}"}} {{"{{"}}end{{"}}"}}{{"{{"}}end{{"}}"}}' "$c")
	echo "$vols" >"$out/volumes"
	db_volumes="$db_volumes $vols"
done

# --- 2. files --------------------------------------------------------------
paths="$state"
for v in $(docker volume ls -q); do
	case " $db_volumes " in *" $v "*) continue ;; esac
	mp=$(docker volume inspect -f '{{"{{"}}.Mountpoint{{"}}"}}' "$v")
	[ -d "$mp" ] && paths="$paths $mp"
done
for p in {{range .Extra}}{{q .}} {{end}}; do
	[ -e "$p" ] && paths="$paths $p"
done
echo "$paths" | tr ' ' '\n' >"$state/paths"

snaps=""
added=0
{{range .Repos -}}
repo_name={{q .Name}}
echo "backing up to $repo_name"
# restic with this repository's options: an SFTP repository through this
# host's backup key and the pinned host key; an S3 one with its keys read
# from its 0600 environment file, never on a command line.
restic_() { {{range .Restic}}{{q .}} {{end}}"$@"; }
log="$state/restic.log"
# restic's output streams to stderr (collabstack shows it) and to the log;
# its exit status is the log's last line.
# shellcheck disable=SC2086 # paths is a word list
{
	restic_ backup --json --host "$node" --tag collabstack --tag "run=$run_tag" --exclude "$state/last.json*" --exclude "$log" $paths 2>&1 && echo "exit=0" || echo "exit=$?"
} | tee "$log" | if [ "${JSON:-}" = 1 ]; then cat; else grep -v '"message_type":"status"' || true; fi >&2
[ "$(tail -n1 "$log")" = "exit=0" ] || fail "restic backup to $repo_name failed: $(tail -n3 "$log" | head -n2 | tr '\n' ' ')"
snap=$(sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' "$log" | tail -n1)
add=$(sed -n 's/.*"data_added":\([0-9]*\).*/\1/p' "$log" | tail -n1)
snaps="$snaps $repo_name:$snap"
added=$((added + ${add:-0}))
{{if $.Manager -}}
# Retention, once for every host of the site (the manager runs it):
# every backup of the last 24 hours stays (a second `backup --now` on the
# same day must not drop the first), then one per day, week and month.
restic_ forget --group-by host --tag collabstack --keep-within 1d --keep-daily {{q $.Keep.Daily}} --keep-weekly {{q $.Keep.Weekly}} --keep-monthly {{q $.Keep.Monthly}} --prune >&2 ||
	echo "retention on $repo_name failed (another host may be backing up); the next run tries again" >&2
{{end -}}
{{end -}}
result true "${snaps# }" "$added" ""
echo "backup done:${snaps} added ${added} bytes"
