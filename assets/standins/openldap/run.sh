#!/bin/sh
# /container/tool/run of the osixia/openldap stand-in. On empty
# /var/lib/ldap and /etc/ldap/slapd.d it makes a directory like osixia's:
# cn=config (rootDN cn=admin,cn=config), an mdb database for LDAP_BASE_DN
# (rootDN and entry cn=admin,BASE), the memberOf and refint overlays,
# osixia's access rules (02-security.ldif of osixia/docker-openldap v1.5.0:
# root over ldapi manages the data, then the admin, then self), an optional read-only user, TLS, then the custom
# LDIFs and schemas. Each new container applies LDAP_ADMIN_PASSWORD and
# LDAP_CONFIG_PASSWORD again, like osixia. Then slapd runs in the
# foreground as openldap. osixia's own options (--copy-service,
# --loglevel LEVEL, ...) are accepted and ignored.
set -eu

log() { printf '*** INFO  | %s | %s\n' "$(date '+%F %T')" "$*"; }
die() {
	printf '*** ERROR | %s | %s\n' "$(date '+%F %T')" "$*" >&2
	exit 1
}

cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT osixia/openldap.                      *
*  collabstack built it from Debian's slapd (OpenLDAP 2.5) for a lab *
*  without Docker Hub. Do not use it in production.                  *
**********************************************************************
BANNER

# osixia's run tool options; anything after "--" or a non-option is a
# command to run instead of slapd.
while [ $# -gt 0 ]; do
	case "$1" in
	-l | --loglevel | -e | --copy-service-to)
		shift
		[ $# -gt 0 ] && shift
		;;
	-c | --copy-service | -k | --keep-startup-env | -s | --skip-startup | -p | --skip-process | -f | --skip-finish | -o | --run-only | -d | --debug)
		shift
		;;
	--) shift && break ;;
	*) break ;;
	esac
done
if [ $# -gt 0 ]; then
	exec "$@"
fi

env_value() { eval "printf '%s' \"\${$1:-}\""; }

# file_env VAR DEFAULT: VAR from VAR_FILE when set, else VAR, else DEFAULT.
file_env() {
	file=$(env_value "${1}_FILE")
	if [ -n "$file" ]; then
		[ -r "$file" ] || die "${1}_FILE: cannot read $file"
		export "$1=$(cat "$file")"
	elif [ -z "$(env_value "$1")" ]; then
		export "$1=${2:-}"
	fi
	unset "${1}_FILE" || true
}

file_env LDAP_ORGANISATION "Example Inc."
file_env LDAP_DOMAIN example.org
file_env LDAP_BASE_DN
file_env LDAP_ADMIN_PASSWORD admin
file_env LDAP_CONFIG_PASSWORD config
file_env LDAP_READONLY_USER false
file_env LDAP_READONLY_USER_USERNAME readonly
file_env LDAP_READONLY_USER_PASSWORD readonly
file_env LDAP_BACKEND mdb
file_env LDAP_TLS true
file_env LDAP_TLS_CRT_FILENAME ldap.crt
file_env LDAP_TLS_KEY_FILENAME ldap.key
file_env LDAP_TLS_CA_CRT_FILENAME ca.crt
file_env LDAP_TLS_ENFORCE false
file_env LDAP_TLS_CIPHER_SUITE "SECURE256:+SECURE128:-VERS-TLS-ALL:+VERS-TLS1.2:-RSA:-DHE-DSS:-CAMELLIA-128-CBC:-CAMELLIA-256-CBC"
file_env LDAP_TLS_VERIFY_CLIENT demand
file_env LDAP_RFC2307BIS_SCHEMA false
file_env LDAP_SEED_INTERNAL_LDIF_PATH
file_env LDAP_SEED_INTERNAL_SCHEMA_PATH
file_env KEEP_EXISTING_CONFIG false
LDAP_LOG_LEVEL=${LDAP_LOG_LEVEL:-256}
LDAP_NOFILE=${LDAP_NOFILE:-1024}
LDAP_PORT=${LDAP_PORT:-389}
LDAPS_PORT=${LDAPS_PORT:-636}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

[ "$LDAP_BACKEND" = mdb ] || die "LDAP_BACKEND=$LDAP_BACKEND: this stand-in (OpenLDAP 2.5) has only mdb"
if [ "$(lower "$LDAP_RFC2307BIS_SCHEMA")" = true ]; then
	log "WARNING: LDAP_RFC2307BIS_SCHEMA=true is not supported by the stand-in; the nis schema is used"
fi

if [ -z "$LDAP_BASE_DN" ]; then
	LDAP_BASE_DN=$(printf '%s' "$LDAP_DOMAIN" | sed -e 's/^/dc=/' -e 's/\./,dc=/g')
fi
domain_from_dn=$(printf '%s' "$LDAP_BASE_DN" | tr ',' '\n' | sed -e 's/^[^=]*=//' | paste -sd. -)
case "$domain_from_dn" in
*"$LDAP_DOMAIN") ;;
*)
	case "$LDAP_DOMAIN" in
	*"$domain_from_dn") ;;
	*) die "domain $domain_from_dn derived from LDAP_BASE_DN $LDAP_BASE_DN does not match LDAP_DOMAIN $LDAP_DOMAIN" ;;
	esac
	;;
esac

# Few file descriptors, or slapd takes far more memory (osixia does this).
# shellcheck disable=SC3045 # dash, the /bin/sh here, has ulimit -n
ulimit -n "$LDAP_NOFILE" 2>/dev/null || true

if [ -n "${LDAP_OPENLDAP_UID:-}" ] && [ "$LDAP_OPENLDAP_UID" != "$(id -u openldap)" ]; then
	usermod -o -u "$LDAP_OPENLDAP_UID" openldap
fi
if [ -n "${LDAP_OPENLDAP_GID:-}" ] && [ "$LDAP_OPENLDAP_GID" != "$(id -g openldap)" ]; then
	groupmod -o -g "$LDAP_OPENLDAP_GID" openldap
fi

assets=/container/service/slapd/assets
certs=$assets/certs
state=/container/run/state
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p /var/lib/ldap /etc/ldap/slapd.d /run/slapd "$state" "$certs"
if [ "$(lower "${DISABLE_CHOWN:-false}")" = false ]; then
	chown -R openldap:openldap /var/lib/ldap /etc/ldap/slapd.d /run/slapd
fi

# Secrets go to files readable by root only (never on a command line).
secret() {
	printf '%s' "$2" >"$work/$1"
	chmod 600 "$work/$1"
}
secret admin "$LDAP_ADMIN_PASSWORD"
secret config "$LDAP_CONFIG_PASSWORD"
secret readonly "$LDAP_READONLY_USER_PASSWORD"
hash() { slappasswd -h '{SSHA}' -T "$work/$1"; }

b64() { printf '%s' "$1" | base64 -w0; }

empty() { [ -z "$(find "$1" -mindepth 1 -maxdepth 1 ! -name 'lost+found' ! -name '.*' -print -quit)" ]; }

tls_on() { [ "$(lower "$LDAP_TLS")" = true ]; }

# The TLS files: given ones are used, missing ones are made (a CA and a
# certificate for this host name), as osixia's ssl-helper does.
ensure_certs() {
	crt=$certs/$LDAP_TLS_CRT_FILENAME
	key=$certs/$LDAP_TLS_KEY_FILENAME
	ca=$certs/$LDAP_TLS_CA_CRT_FILENAME
	if [ -s "$crt" ] && [ -s "$key" ] && [ -s "$ca" ]; then
		return 0
	fi
	log "Generate a CA and a certificate for $(hostname -f 2>/dev/null || hostname)"
	name=$(hostname -f 2>/dev/null || hostname)
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=collabstack stand-in LDAP CA" \
		-keyout "$work/ca.key" -out "$ca" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$key" -out "$work/req.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n' "$name" >"$work/ext.cnf"
	openssl x509 -req -in "$work/req.csr" -CA "$ca" -CAkey "$work/ca.key" -CAcreateserial -days 3650 \
		-extfile "$work/ext.cnf" -out "$crt" 2>/dev/null
	chmod 600 "$key"
	chown openldap:openldap "$crt" "$key" "$ca"
}

ldapi=ldapi:///
slapd_pid=

start_temp_slapd() {
	# A configuration made with TLS needs its files to start.
	if [ -e /etc/ldap/slapd.d/docker-openldap-was-started-with-tls ]; then
		ensure_certs
	fi
	slapd -h "$ldapi" -u openldap -g openldap -F /etc/ldap/slapd.d -d 0 &
	slapd_pid=$!
	i=0
	until ldapsearch -Q -Y EXTERNAL -H "$ldapi" -b "" -s base >/dev/null 2>&1; do
		i=$((i + 1))
		kill -0 "$slapd_pid" 2>/dev/null || die "slapd did not start (its messages are above)"
		[ "$i" -lt 100 ] || die "slapd did not answer on $ldapi"
		sleep 0.1
	done
}

stop_temp_slapd() {
	kill "$slapd_pid"
	while kill -0 "$slapd_pid" 2>/dev/null; do sleep 0.1; done
}

# ldif_apply FILE: adds or modifies (changetype) as root over ldapi, or
# else as the admin (like osixia's ldap_add_or_modify).
ldif_apply() {
	sed -e "s|{{ LDAP_BASE_DN }}|$LDAP_BASE_DN|g" -e "s|{{ LDAP_BACKEND }}|$LDAP_BACKEND|g" \
		-e "s|{{ LDAP_DOMAIN }}|$LDAP_DOMAIN|g" \
		-e "s|{{ LDAP_READONLY_USER_USERNAME }}|$LDAP_READONLY_USER_USERNAME|g" \
		-e "s|{{ LDAP_READONLY_USER_PASSWORD_ENCRYPTED }}|$(hash readonly)|g" "$1" >"$work/apply.ldif"
	tool=ldapadd
	if grep -iq '^changetype:' "$work/apply.ldif"; then
		tool=ldapmodify
	fi
	log "Processing file $1"
	if ! $tool -Q -Y EXTERNAL -H "$ldapi" -f "$work/apply.ldif" >"$work/apply.out" 2>&1; then
		$tool -x -H "$ldapi" -D "cn=admin,$LDAP_BASE_DN" -y "$work/admin" -f "$work/apply.ldif" ||
			die "$1 could not be applied: $(cat "$work/apply.out")"
	fi
}

first_rdn_attr=$(printf '%s' "$LDAP_BASE_DN" | sed -e 's/=.*//' | tr '[:upper:]' '[:lower:]')
first_rdn_value=$(printf '%s' "$LDAP_BASE_DN" | sed -e 's/^[^=]*=//' -e 's/,.*//')

bootstrap=false
if empty /var/lib/ldap && empty /etc/ldap/slapd.d; then
	bootstrap=true
elif empty /var/lib/ldap; then
	die "the database directory (/var/lib/ldap) is empty but not the config directory (/etc/ldap/slapd.d)"
elif empty /etc/ldap/slapd.d; then
	die "the config directory (/etc/ldap/slapd.d) is empty but not the database directory (/var/lib/ldap)"
fi

if $bootstrap; then
	log "Database and config directory are empty: init new ldap server for $LDAP_BASE_DN"
	admin_hash=$(hash admin)
	config_hash=$(hash config)
	peercred="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
	cat >"$work/config.ldif" <<-EOF
	dn: cn=config
	objectClass: olcGlobal
	cn: config
	olcArgsFile: /run/slapd/slapd.args
	olcPidFile: /run/slapd/slapd.pid
	olcToolThreads: 1

	dn: cn=module{0},cn=config
	objectClass: olcModuleList
	cn: module{0}
	olcModulePath: /usr/lib/ldap
	olcModuleLoad: {0}back_mdb
	olcModuleLoad: {1}memberof
	olcModuleLoad: {2}refint

	dn: cn=schema,cn=config
	objectClass: olcSchemaConfig
	cn: schema

	include: file:///etc/ldap/schema/core.ldif

	include: file:///etc/ldap/schema/cosine.ldif

	include: file:///etc/ldap/schema/nis.ldif

	include: file:///etc/ldap/schema/inetorgperson.ldif

	dn: olcDatabase={-1}frontend,cn=config
	objectClass: olcDatabaseConfig
	objectClass: olcFrontendConfig
	olcDatabase: {-1}frontend
	olcSizeLimit: 500
	olcAccess: {0}to * by dn.exact=$peercred manage by * break
	olcAccess: {1}to dn.exact="" by * read
	olcAccess: {2}to dn.base="cn=Subschema" by * read

	dn: olcDatabase={0}config,cn=config
	objectClass: olcDatabaseConfig
	olcDatabase: {0}config
	olcRootDN: cn=admin,cn=config
	olcRootPW: $config_hash
	olcAccess: {0}to * by dn.exact=$peercred manage by * break

	dn: olcDatabase={1}mdb,cn=config
	objectClass: olcDatabaseConfig
	objectClass: olcMdbConfig
	olcDatabase: {1}mdb
	olcDbDirectory: /var/lib/ldap
	olcSuffix: $LDAP_BASE_DN
	olcRootDN: cn=admin,$LDAP_BASE_DN
	olcRootPW: $admin_hash
	olcLastMod: TRUE
	olcDbMaxSize: 1073741824
	olcDbIndex: uid eq
	olcDbIndex: mail eq
	olcDbIndex: memberOf eq
	olcDbIndex: entryCSN eq
	olcDbIndex: entryUUID eq
	olcDbIndex: objectClass eq
	olcAccess: {0}to * by dn.exact=$peercred manage by * break
	olcAccess: {1}to attrs=userPassword,shadowLastChange by self write by dn="cn=admin,$LDAP_BASE_DN" write by anonymous auth by * none
	olcAccess: {2}to * by self read by dn="cn=admin,$LDAP_BASE_DN" write by * none

	dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
	objectClass: olcOverlayConfig
	objectClass: olcMemberOf
	olcOverlay: {0}memberof
	olcMemberOfDangling: ignore
	olcMemberOfRefInt: TRUE
	olcMemberOfGroupOC: groupOfUniqueNames
	olcMemberOfMemberAD: uniqueMember
	olcMemberOfMemberOfAD: memberOf

	dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
	objectClass: olcOverlayConfig
	objectClass: olcRefintConfig
	olcOverlay: {1}refint
	olcRefintAttribute: owner
	olcRefintAttribute: manager
	olcRefintAttribute: uniqueMember
	olcRefintAttribute: member
	olcRefintAttribute: memberOf
	EOF
	slapadd -n 0 -F /etc/ldap/slapd.d -l "$work/config.ldif" || die "could not make cn=config"
	chown -R openldap:openldap /etc/ldap/slapd.d

	start_temp_slapd
	{
		printf 'dn: %s\n' "$LDAP_BASE_DN"
		case "$first_rdn_attr" in
		dc) printf 'objectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\n' "$first_rdn_value" ;;
		o) printf 'objectClass: top\nobjectClass: organization\n' ;;
		*) die "LDAP_BASE_DN $LDAP_BASE_DN must start with dc= or o=" ;;
		esac
		printf 'o:: %s\n\n' "$(b64 "$LDAP_ORGANISATION")"
		printf 'dn: cn=admin,%s\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: admin\ndescription: LDAP administrator\nuserPassword: %s\n' \
			"$LDAP_BASE_DN" "$admin_hash"
	} >"$work/base.ldif"
	ldapadd -x -H "$ldapi" -D "cn=admin,$LDAP_BASE_DN" -y "$work/admin" -f "$work/base.ldif" >/dev/null ||
		die "could not add the base entries"

	if [ "$(lower "$LDAP_READONLY_USER")" = true ]; then
		log "Add read only user $LDAP_READONLY_USER_USERNAME"
		printf 'dn: cn=%s,%s\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: %s\ndescription: LDAP read only user\nuserPassword: %s\n' \
			"$LDAP_READONLY_USER_USERNAME" "$LDAP_BASE_DN" "$LDAP_READONLY_USER_USERNAME" "$(hash readonly)" >"$work/readonly.ldif"
		ldapadd -x -H "$ldapi" -D "cn=admin,$LDAP_BASE_DN" -y "$work/admin" -f "$work/readonly.ldif" >/dev/null
		cat >"$work/readonly-acl.ldif" <<-EOF
		dn: olcDatabase={1}mdb,cn=config
		changetype: modify
		replace: olcAccess
		olcAccess: {0}to * by dn.exact=$peercred manage by * break
		olcAccess: {1}to attrs=userPassword,shadowLastChange by self write by dn="cn=admin,$LDAP_BASE_DN" write by anonymous auth by * none
		olcAccess: {2}to * by self read by dn="cn=admin,$LDAP_BASE_DN" write by dn="cn=$LDAP_READONLY_USER_USERNAME,$LDAP_BASE_DN" read by * none
		EOF
		ldapmodify -Q -Y EXTERNAL -H "$ldapi" -f "$work/readonly-acl.ldif" >/dev/null
	fi

	if [ "$(lower "$KEEP_EXISTING_CONFIG")" != true ]; then
		for dir in "$assets/config/bootstrap/schema/custom" ${LDAP_SEED_INTERNAL_SCHEMA_PATH:+"$LDAP_SEED_INTERNAL_SCHEMA_PATH"}; do
			[ -d "$dir" ] || continue
			find "$dir" -type f -name '*.schema' | while read -r f; do
				log "WARNING: $f: .schema files are not converted by the stand-in; give the schema as .ldif"
			done
			find "$dir" -type f -name '*.ldif' | sort | while read -r f; do
				ldif_apply "$f"
			done
		done
		for dir in "$assets/config/bootstrap/ldif/custom" ${LDAP_SEED_INTERNAL_LDIF_PATH:+"$LDAP_SEED_INTERNAL_LDIF_PATH"}; do
			[ -d "$dir" ] || continue
			find "$dir" -type f -name '*.ldif' | sort | while read -r f; do
				ldif_apply "$f"
			done
		done
	fi
	stop_temp_slapd
	touch "$state/slapd-first-start-done"
	log "First start is done..."
fi

# Each new container: passwords from the environment and the TLS setup.
if [ ! -e "$state/slapd-first-start-done" ] || $bootstrap; then
	if [ "$(lower "$KEEP_EXISTING_CONFIG")" != true ]; then
		start_temp_slapd
		if ! $bootstrap; then
			log "Set the admin and config passwords from the environment"
			cat >"$work/passwords.ldif" <<-EOF
			dn: olcDatabase={0}config,cn=config
			changetype: modify
			replace: olcRootPW
			olcRootPW: $(hash config)

			dn: olcDatabase={1}mdb,cn=config
			changetype: modify
			replace: olcRootPW
			olcRootPW: $(hash admin)
			EOF
			ldapmodify -Q -Y EXTERNAL -H "$ldapi" -f "$work/passwords.ldif" >/dev/null
			printf 'dn: cn=admin,%s\nchangetype: modify\nreplace: userPassword\nuserPassword: %s\n' "$LDAP_BASE_DN" "$(hash admin)" >"$work/admin.ldif"
			ldapmodify -x -H "$ldapi" -D "cn=admin,$LDAP_BASE_DN" -y "$work/admin" -f "$work/admin.ldif" >/dev/null 2>&1 || true
		fi
		if tls_on; then
			log "Add TLS config..."
			ensure_certs
			cat >"$work/tls.ldif" <<-EOF
			dn: cn=config
			changetype: modify
			replace: olcTLSCipherSuite
			olcTLSCipherSuite: $LDAP_TLS_CIPHER_SUITE
			-
			replace: olcTLSCACertificateFile
			olcTLSCACertificateFile: $certs/$LDAP_TLS_CA_CRT_FILENAME
			-
			replace: olcTLSCertificateFile
			olcTLSCertificateFile: $certs/$LDAP_TLS_CRT_FILENAME
			-
			replace: olcTLSCertificateKeyFile
			olcTLSCertificateKeyFile: $certs/$LDAP_TLS_KEY_FILENAME
			-
			replace: olcTLSVerifyClient
			olcTLSVerifyClient: $LDAP_TLS_VERIFY_CLIENT
			EOF
			ldapmodify -Q -Y EXTERNAL -H "$ldapi" -f "$work/tls.ldif" >/dev/null || die "could not set up TLS"
			touch /etc/ldap/slapd.d/docker-openldap-was-started-with-tls
			if [ "$(lower "$LDAP_TLS_ENFORCE")" = true ]; then
				printf 'dn: cn=config\nchangetype: modify\nreplace: olcSecurity\nolcSecurity: tls=1\n' >"$work/enforce.ldif"
				ldapmodify -Q -Y EXTERNAL -H "$ldapi" -f "$work/enforce.ldif" >/dev/null
			fi
			printf 'TLS_CACERT %s\nTLS_REQCERT %s\n' "$certs/$LDAP_TLS_CA_CRT_FILENAME" "$LDAP_TLS_VERIFY_CLIENT" >/etc/ldap/ldap.conf
		fi
		stop_temp_slapd
	fi
	touch "$state/slapd-first-start-done"
fi

# Like osixia's process.sh: ldap:// and ldaps:// on the container's FQDN
# only (so not on 127.0.0.1), and ldapi:///.
fqdn=$(hostname --fqdn 2>/dev/null || hostname)
urls="ldap://$fqdn:$LDAP_PORT ldapi:///"
if tls_on || [ -e /etc/ldap/slapd.d/docker-openldap-was-started-with-tls ]; then
	ensure_certs
	urls="ldap://$fqdn:$LDAP_PORT ldaps://$fqdn:$LDAPS_PORT ldapi:///"
fi
rm -rf "$work"
trap - EXIT
log "openldap stand-in: slapd for $LDAP_BASE_DN on $urls"
exec slapd -h "$urls" -u openldap -g openldap -F /etc/ldap/slapd.d -d "$LDAP_LOG_LEVEL"
