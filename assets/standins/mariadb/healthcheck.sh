#!/bin/sh
# healthcheck.sh of the mariadb stand-in, with the options of upstream's
# that stacks use: --connect (the server accepts TCP connections; the
# entrypoint's temporary server does not listen on TCP, so this passes
# only once the real server runs), --innodb_initialized,
# --innodb_buffer_pool_loaded; --su-mysql, --su=USER, --mariadbupgrade,
# --datadir=DIR, --defaults-file=F, --defaults-extra-file=F,
# --no-defaults are accepted. It logs in as the healthcheck user the
# entrypoint made (DATADIR/.my-healthcheck.cnf).
set -eu

datadir=/var/lib/mysql
defaults=
checks=
for arg; do
	case "$arg" in
	--connect | --innodb_initialized | --innodb-initialized | --innodb_buffer_pool_loaded | --innodb-buffer-pool-loaded)
		checks="$checks ${arg#--}"
		;;
	--datadir=*) datadir=${arg#--datadir=} ;;
	--defaults-file=* | --defaults-extra-file=*) defaults=$arg ;;
	--no-defaults | --su-mysql | --su=* | --mariadbupgrade | --galera_online | --replication*) ;;
	*)
		echo "healthcheck.sh (stand-in): unknown option $arg" >&2
		exit 2
		;;
	esac
done
if [ -z "$defaults" ] && [ -r "$datadir/.my-healthcheck.cnf" ]; then
	defaults=--defaults-extra-file=$datadir/.my-healthcheck.cnf
fi
defaults=${defaults:---no-defaults}

query() {
	# shellcheck disable=SC2086 # $defaults is one option or none
	mariadb $defaults -h localhost --protocol=socket -N -s -e "$1"
}

for c in $checks; do
	case "$c" in
	connect)
		# shellcheck disable=SC2086 # $defaults is one option or none
		if mariadb $defaults -h 127.0.0.1 --protocol=tcp -e 'SELECT 1' 2>&1 | grep -q "Can't connect"; then
			echo "healthcheck connect failed" >&2
			exit 1
		fi
		;;
	innodb_initialized | innodb-initialized)
		out=$(query "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES', 'DEFAULT', 'ENABLED')") || exit 1
		[ "$out" = 1 ] || {
			echo "healthcheck innodb_initialized failed" >&2
			exit 1
		}
		;;
	innodb_buffer_pool_loaded | innodb-buffer-pool-loaded)
		out=$(query "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'") || exit 1
		case "$out" in
		*"load completed"* | *"not started"* | "") ;;
		*)
			echo "healthcheck innodb_buffer_pool_loaded failed: $out" >&2
			exit 1
			;;
		esac
		;;
	esac
done
exit 0
