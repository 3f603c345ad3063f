# The site's directory tree, rendered by collabstack (steps/identity) and
# fed on stdin to sh in the OpenLDAP container, where it runs as root and
# talks to slapd over ldapi:/// with SASL EXTERNAL (osixia's access rules
# give root "manage" on cn=config and on the data). MODE=check reads the
# live tree and config; MODE=apply adds what is missing:
#   - the password policy: the ppolicy module (and its schema where it is
#     a separate file, OpenLDAP 2.4), the overlay, cn=default and
#     cn=services under ou=policies;
#   - ou=people, ou=groups, ou=services, ou=policies and the admins group;
#   - one read-only account per consumer, cn=NAME,ou=services, with its
#     password (it may read everything but userPassword);
#   - the access rule that gives ou=services read access.
# Bind passwords are in this script, which only ever travels on stdin.

base={{q .Base}}
ldapi=ldapi:///

# lq searches; when slapd cannot be reached (exit 255, "Can't contact LDAP
# server") it tries again for up to a minute: osixia's first start runs a
# temporary slapd for its bootstrap and then restarts it, so a slapd that
# answered a moment ago may be gone for a few seconds.
lq() {
	n=0
	while :; do
		rc=0
		ldapsearch -LLL -Q -Y EXTERNAL -H "$ldapi" -o ldif-wrap=no "$@" || rc=$?
		[ "$rc" -eq 255 ] && [ "$n" -lt 60 ] || return "$rc"
		n=$((n + 1))
		sleep 1
	done
}
exists() { lq -s base -b "$1" dn >/dev/null 2>&1; }
ldif_add() { ldapadd -Q -Y EXTERNAL -H "$ldapi" >/dev/null; }
ldif_modify() { ldapmodify -Q -Y EXTERNAL -H "$ldapi" >/dev/null; }
die() {
	echo "$*" >&2
	exit 1
}

# A container that has just started needs a moment (lq waits).
lq -s base -b "" dn >/dev/null 2>&1 || die "slapd does not answer on $ldapi in this container"

db=$(lq -b cn=config "(olcSuffix=$base)" dn | sed -n 's/^dn: //p' | head -n 1)
[ -n "$db" ] || die "slapd has no database for $base (LDAP_BASE_DN of the stack)"

# The password policy module. OpenLDAP 2.5 carries the schema in the
# module; osixia's 2.4 loads /etc/ldap/schema/ppolicy.ldif at bootstrap.
if ! lq -b cn=config "(objectClass=olcModuleList)" olcModuleLoad | grep -qi '^olcModuleLoad: .*ppolicy'; then
	todo "load the password policy module (ppolicy)"
	modules=$(lq -b cn=config "(objectClass=olcModuleList)" dn | sed -n 's/^dn: //p' | head -n 1)
	[ -n "$modules" ] || die "cn=config has no module list to load ppolicy into"
	printf 'dn: %s\nchangetype: modify\nadd: olcModuleLoad\nolcModuleLoad: ppolicy\n' "$modules" | ldif_modify
fi
if ! lq -s base -b cn=subschema objectClasses | grep -q "NAME 'pwdPolicy'"; then
	todo "add the password policy schema"
	[ -f /etc/ldap/schema/ppolicy.ldif ] || die "no ppolicy schema: neither in the module nor in /etc/ldap/schema/ppolicy.ldif"
	ldif_add </etc/ldap/schema/ppolicy.ldif
fi
if ! lq -s one -b "$db" dn | grep -qi '^dn: olcOverlay={[0-9]*}ppolicy,'; then
	todo "put the password policy overlay on $base"
	printf 'dn: olcOverlay=ppolicy,%s\nobjectClass: olcOverlayConfig\nobjectClass: olcPPolicyConfig\nolcOverlay: ppolicy\nolcPPolicyDefault: cn=default,ou=policies,%s\nolcPPolicyHashCleartext: TRUE\n' "$db" "$base" | ldif_add
fi

# The read access of ou=services, right after the userPassword rule
# (so the accounts never read a password hash).
if ! lq -s base -b "$db" olcAccess | grep -qi 'by dn.children="ou=services,'; then
	todo "give the read-only accounts (ou=services) read access"
	pw_rule=$(lq -s base -b "$db" olcAccess | sed -n 's/^olcAccess: {\([0-9]*\)}to attrs=userPassword.*/\1/p' | head -n 1)
	[ -n "$pw_rule" ] || die "$db has no access rule for userPassword; refusing to add read access next to an unknown rule set"
	printf 'dn: %s\nchangetype: modify\nadd: olcAccess\nolcAccess: {%s}to dn.subtree="%s" by dn.children="ou=services,%s" read by * break\n' \
		"$db" "$((pw_rule + 1))" "$base" "$base" | ldif_modify
fi

# ensure_ou NAME: ou=NAME under the base.
ensure_ou() {
	if ! exists "ou=$1,$base"; then
		todo "add ou=$1"
		printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n' "$1" "$base" "$1" | ldif_add
	fi
}
ensure_ou people
ensure_ou groups
ensure_ou services
ensure_ou policies

# ensure_policy NAME ATTR VALUE...: the policy entry with these values.
ensure_policy() {
	dn="cn=$1,ou=policies,$base"
	shift
	if ! exists "$dn"; then
		todo "add the password policy $dn"
		{
			printf 'dn: %s\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\n' "$dn"
			printf 'cn: %s\n' "${dn%%,*}" | sed 's/^cn: cn=/cn: /'
			printf 'pwdAttribute: userPassword\n'
			while [ $# -gt 1 ]; do
				printf '%s: %s\n' "$1" "$2"
				shift 2
			done
		} | ldif_add
		return 0
	fi
	live=$(lq -s base -b "$dn" '*')
	while [ $# -gt 1 ]; do
		if ! printf '%s\n' "$live" | grep -qx "$1: $2"; then
			todo "set $1 to $2 in $dn"
			printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n' "$dn" "$1" "$1" "$2" | ldif_modify
		fi
		shift 2
	done
}
# People: 12 characters at least, 5 remembered, 10 failures lock for 15
# minutes. Accounts of services: no lockout, so nobody can lock
# FreeRADIUS or Keycloak out by guessing their password.
ensure_policy default pwdMinLength 12 pwdCheckQuality 1 pwdInHistory 5 pwdMaxFailure 10 \
	pwdLockout TRUE pwdLockoutDuration 900 pwdFailureCountInterval 900 pwdAllowUserChange TRUE pwdMustChange FALSE
ensure_policy services pwdMinLength 12 pwdCheckQuality 1 pwdLockout FALSE pwdAllowUserChange FALSE

# The admins group (a group of unique names needs a member: the
# directory's admin entry holds the place).
if ! exists "cn=admins,ou=groups,$base"; then
	todo "add the admins group"
	printf 'dn: cn=admins,ou=groups,%s\nobjectClass: groupOfUniqueNames\ncn: admins\ndescription: Administrators of the site\nuniqueMember: cn=admin,%s\n' "$base" "$base" | ldif_add
fi

# ensure_reader NAME PASSWORD: the read-only account of a consumer.
ensure_reader() {
	dn="cn=$1,ou=services,$base"
	if ! exists "$dn"; then
		todo "add the read-only account $dn"
		printf 'dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: %s\ndescription: read-only account of %s (collabstack)\nuserPassword: {SSHA}unset\n' "$dn" "$1" "$1" | ldif_add
		printf 'dn: %s\nchangetype: modify\nreplace: pwdPolicySubentry\npwdPolicySubentry: cn=services,ou=policies,%s\n' "$dn" "$base" | ldif_modify
	fi
	if ! printf '%s' "$2" | ldapwhoami -x -H "$ldapi" -D "$dn" -y /dev/stdin >/dev/null 2>&1; then
		todo "set the password of $dn"
		printf '%s' "$2" | ldappasswd -Q -Y EXTERNAL -H "$ldapi" -T /dev/stdin "$dn" >/dev/null
	fi
}
{{- range .Readers}}
ensure_reader {{q .Name}} {{q .Password}}
{{- end}}
