#!/bin/sh
# shellcheck disable=SC2119,SC2120 # docker_process_sql takes optional client arguments
# Entry point of the mariadb stand-in, after the official image's: on an
# empty /var/lib/mysql it creates the system tables, the root account, the
# database and user from MARIADB_* (or MYSQL_*) variables or their *_FILE
# forms, the healthcheck account, and runs /docker-entrypoint-initdb.d;
# then mariadbd runs in the foreground as mysql with the arguments given.
set -eu

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*"; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; }
die() {
	printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2
	exit 1
}

banner() {
	cat >&2 <<-'EOF'
	**********************************************************************
	*  STAND-IN IMAGE: this is NOT the official mariadb/mysql image.     *
	*  collabstack built it from Debian's mariadb-server for a lab       *
	*  without Docker Hub. Do not use it in production.                  *
	**********************************************************************
	EOF
}

# env_value NAME: the value of the variable NAME (empty when unset).
env_value() { eval "printf '%s' \"\${$1:-}\""; }

# file_env VAR DEFAULT: VAR from VAR or VAR_FILE (not both), else DEFAULT.
file_env() {
	var=$1
	val=$(env_value "$var")
	file=$(env_value "${var}_FILE")
	if [ -n "$val" ] && [ -n "$file" ]; then
		die "both $var and ${var}_FILE are set (but are exclusive)"
	fi
	if [ -n "$file" ]; then
		[ -r "$file" ] || die "${var}_FILE: cannot read $file"
		val=$(cat "$file")
	fi
	[ -n "$val" ] || val=${2:-}
	export "$var=$val"
	unset "${var}_FILE" || true
}

# mariadb_env NAME: MARIADB_NAME from itself or its MYSQL_NAME alias
# (each may come from a *_FILE).
mariadb_env() {
	file_env "MARIADB_$1"
	if [ -z "$(env_value "MARIADB_$1")" ]; then
		file_env "MYSQL_$1"
		export "MARIADB_$1=$(env_value "MYSQL_$1")"
	fi
}

# sql_escape: escapes ' and \ for a single-quoted SQL string.
sql_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"; }

# A first argument that is an option means: run mariadbd with it.
if [ "${1#-}" != "${1:-}" ]; then
	set -- mariadbd "$@"
fi

case "${1:-}" in
mariadbd | mysqld | mariadbd-safe | mysqld_safe) ;;
*) exec "$@" ;;
esac

for arg; do
	case "$arg" in
	-'?' | --help | --print-defaults | -V | --version) exec "$@" ;;
	esac
done

if [ -z "${STANDIN_BANNER_SHOWN:-}" ]; then
	banner
	export STANDIN_BANNER_SHOWN=1
fi

# Options only MySQL knows become --loose- ones that MariaDB skips, so a
# stack written for mysql:8 starts unchanged.
cmd=$1
shift
for arg; do
	shift
	case "$arg" in
	--default-authentication-plugin* | --default_authentication_plugin* | \
		--mysql-native-password* | --mysql_native_password* | \
		--authentication-policy* | --authentication_policy*)
		arg="--loose-${arg#--}"
		;;
	esac
	set -- "$@" "$arg"
done
case "$cmd" in
mysqld | mariadbd-safe | mysqld_safe) cmd=mariadbd ;;
esac
set -- "$cmd" "$@"

datadir=$(mariadbd --verbose --help "$@" 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')
datadir=${datadir:-/var/lib/mysql}
datadir=${datadir%/}
socket=$(mariadbd --verbose --help "$@" 2>/dev/null | awk '$1 == "socket" { print $2; exit }')
socket=${socket:-/run/mysqld/mysqld.sock}

# Read as root (secrets may be readable by root only); the values go on
# in the environment.
mariadb_env ROOT_PASSWORD
mariadb_env ROOT_PASSWORD_HASH
mariadb_env ROOT_HOST
mariadb_env ALLOW_EMPTY_ROOT_PASSWORD
mariadb_env RANDOM_ROOT_PASSWORD
mariadb_env DATABASE
mariadb_env USER
mariadb_env PASSWORD
mariadb_env PASSWORD_HASH
mariadb_env INITDB_SKIP_TZINFO
file_env MYSQL_ALLOW_EMPTY_PASSWORD
[ -n "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] || MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=$MYSQL_ALLOW_EMPTY_PASSWORD
[ -n "$MARIADB_ROOT_HOST" ] || MARIADB_ROOT_HOST=%

# As root: own the data directory and start again as mysql.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$datadir" /run/mysqld
	find "$datadir" /run/mysqld \! -user mysql -exec chown mysql: '{}' + 2>/dev/null || true
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi


client() { mariadb --no-defaults --protocol=socket --socket="$socket" -uroot "$@"; }

if [ ! -d "$datadir/mysql" ]; then
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD_HASH" ] &&
		[ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		die "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
	fi
	if [ -n "$MARIADB_USER" ] && [ "$MARIADB_USER" = root ]; then
		die "MARIADB_USER=root: the root account is set up by MARIADB_ROOT_PASSWORD*, remove MARIADB_USER"
	fi
	if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ] && [ -z "$MARIADB_PASSWORD_HASH" ]; then
		warn "MARIADB_USER is set without MARIADB_PASSWORD: the user has an empty password"
	fi

	note "Initializing database files (mariadb stand-in)"
	mariadb-install-db --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
		--skip-test-db --skip-log-bin --expire-logs-days=0 --default-time-zone=SYSTEM \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
	note "Database files initialized"

	note "Starting temporary server"
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$socket" --wsrep_on=OFF \
		--expire-logs-days=0 --skip-slave-start --loose-innodb_buffer_pool_load_at_startup=0 \
		--skip-ssl &
	tmp_pid=$!
	i=0
	until client --database=mysql -e 'SELECT 1' >/dev/null 2>&1; do
		i=$((i + 1))
		kill -0 "$tmp_pid" 2>/dev/null || die "the temporary server did not start"
		[ "$i" -lt 60 ] || die "the temporary server did not answer in 60 seconds"
		sleep 1
	done
	note "Temporary server started."

	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
		# The time zone tables are filled without logging, like upstream.
		{
			printf '%s\n' "SET @@SESSION.SQL_LOG_BIN=0;"
			mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null
		} | client --database=mysql
	fi

	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
		note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		root_auth="IDENTIFIED BY PASSWORD '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")'"
	else
		root_auth="IDENTIFIED BY '$(sql_escape "$MARIADB_ROOT_PASSWORD")'"
	fi
	health_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	# shellcheck disable=SC2016 # backquotes doubled, not a command
	db_ident=$(printf '%s' "$MARIADB_DATABASE" | sed 's/`/``/g')
	{
		printf '%s\n' "SET @@SESSION.SQL_LOG_BIN=0;"
		printf '%s\n' "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
		printf '%s\n' "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
		printf '%s\n' "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');"
		printf '%s\n' "ALTER USER root@localhost $root_auth;"
		if [ "$MARIADB_ROOT_HOST" != localhost ]; then
			printf '%s\n' "CREATE USER 'root'@'$(sql_escape "$MARIADB_ROOT_HOST")' $root_auth;"
			printf '%s\n' "GRANT ALL ON *.* TO 'root'@'$(sql_escape "$MARIADB_ROOT_HOST")' WITH GRANT OPTION;"
			printf '%s\n' "GRANT PROXY ON ''@'%' TO 'root'@'$(sql_escape "$MARIADB_ROOT_HOST")' WITH GRANT OPTION;"
		fi
		for h in 127.0.0.1 ::1 localhost; do
			printf '%s\n' "CREATE USER healthcheck@'$h' IDENTIFIED BY '$health_pw';"
		done
		if [ -n "$MARIADB_DATABASE" ]; then
			printf '%s\n' "CREATE DATABASE IF NOT EXISTS \`$db_ident\`;"
		fi
		if [ -n "$MARIADB_USER" ]; then
			if [ -n "$MARIADB_PASSWORD_HASH" ]; then
				printf '%s\n' "CREATE USER '$(sql_escape "$MARIADB_USER")'@'%' IDENTIFIED BY PASSWORD '$(sql_escape "$MARIADB_PASSWORD_HASH")';"
			else
				printf '%s\n' "CREATE USER '$(sql_escape "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';"
			fi
			if [ -n "$MARIADB_DATABASE" ]; then
				printf '%s\n' "GRANT ALL ON \`$db_ident\`.* TO '$(sql_escape "$MARIADB_USER")'@'%';"
			fi
		fi
		printf '%s\n' "FLUSH PRIVILEGES;"
	} | client --database=mysql
	umask 077
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$socket" "$health_pw" >"$datadir/.my-healthcheck.cnf"
	umask 022

	# From here on root has its password.
	rootcnf=$(mktemp)
	printf '[client]\npassword="%s"\n' "$(printf '%s' "$MARIADB_ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')" >"$rootcnf"
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		warn "MARIADB_ROOT_PASSWORD_HASH: init scripts log in as root with MARIADB_ROOT_PASSWORD, which is not set"
	fi
	# docker_process_sql is what upstream's init scripts call.
	docker_process_sql() {
		mariadb --defaults-extra-file="$rootcnf" --protocol=socket --socket="$socket" -uroot ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} "$@"
	}
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				note "$0: running $f"
				"$f"
			else
				note "$0: sourcing $f"
				# shellcheck source=/dev/null # the image user's init scripts
				. "$f"
			fi
			;;
		*.sql)
			note "$0: running $f"
			docker_process_sql <"$f"
			;;
		*.sql.gz)
			note "$0: running $f"
			gunzip -c "$f" | docker_process_sql
			;;
		*.sql.xz)
			note "$0: running $f"
			xzcat "$f" | docker_process_sql
			;;
		*.sql.zst)
			note "$0: running $f"
			zstd -dc "$f" | docker_process_sql
			;;
		*) note "$0: ignoring $f" ;;
		esac
	done

	note "Stopping temporary server"
	mariadb-admin --defaults-extra-file="$rootcnf" --protocol=socket --socket="$socket" -uroot shutdown
	rm -f "$rootcnf"
	wait "$tmp_pid" || true
	note "Temporary server stopped"
	note "MariaDB init process done. Ready for start up."
fi

note "mariadb stand-in starting $* (data in $datadir)"
exec "$@"
