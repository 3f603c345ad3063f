# One `collabstack users` operation, rendered by collabstack
# (steps/identity) and fed on stdin to sh in the OpenLDAP container, where
# it runs as root over ldapi:/// with SASL EXTERNAL. A password is in this
# script only, which travels on stdin; it reaches ldappasswd through a
# pipe from the shell's printf builtin, never an argument. Exit status:
# 0 done, 3 the user already exists, 4 no such user, 5 no such group,
# anything else an error (its message on stderr).

base={{q .Base}}
op={{q .Op}}
uid={{q .UID}}
ldapi=ldapi:///
people="ou=people,$base"
groups="ou=groups,$base"
dn="uid=$uid,$people"

lq() { ldapsearch -LLL -Q -Y EXTERNAL -H "$ldapi" -o ldif-wrap=no "$@"; }
exists() { lq -s base -b "$1" dn >/dev/null 2>&1; }
ldif_add() { ldapadd -Q -Y EXTERNAL -H "$ldapi" >/dev/null; }
ldif_modify() { ldapmodify -Q -Y EXTERNAL -H "$ldapi" >/dev/null; }
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }

need_user() {
	if ! exists "$dn"; then
		echo "no user $uid in $people" >&2
		exit 4
	fi
}

set_password() {
	printf '%s' "$1" | ldappasswd -Q -Y EXTERNAL -H "$ldapi" -T /dev/stdin "$dn" >/dev/null
}

# join GROUP: adds the user to a group, making the group if it is new.
join() {
	g="cn=$1,$groups"
	if ! exists "$g"; then
		printf 'dn: %s\nobjectClass: groupOfUniqueNames\ncn: %s\nuniqueMember: %s\n' "$g" "$1" "$dn" | ldif_add
	elif ! lq -s base -b "$g" uniqueMember | grep -qix "uniqueMember: $dn"; then
		printf 'dn: %s\nchangetype: modify\nadd: uniqueMember\nuniqueMember: %s\n' "$g" "$dn" | ldif_modify
	fi
}

# leave GROUP: takes the user out of a group; a group left without
# members goes (a group of unique names cannot be empty).
leave() {
	g="cn=$1,$groups"
	if ! exists "$g"; then
		echo "no group $1 in $groups" >&2
		exit 5
	fi
	members=$(lq -s base -b "$g" uniqueMember | grep -ic '^uniqueMember: ' || true)
	if ! lq -s base -b "$g" uniqueMember | grep -qix "uniqueMember: $dn"; then
		return 0
	fi
	if [ "$members" -le 1 ]; then
		ldapdelete -Q -Y EXTERNAL -H "$ldapi" "$g"
	else
		printf 'dn: %s\nchangetype: modify\ndelete: uniqueMember\nuniqueMember: %s\n' "$g" "$dn" | ldif_modify
	fi
}

# groups_of: the groups the user is in, one name a line.
groups_of() {
	lq -b "$groups" "(uniqueMember=$dn)" cn | sed -n 's/^cn: //p' | sort
}

case "$op" in
add)
	if exists "$dn"; then
		echo "user $uid already exists in $people" >&2
		exit 3
	fi
	{
		printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\n' "$dn" "$uid"
		printf 'cn:: %s\nsn:: %s\ndisplayName:: %s\n' "$(b64 {{q .CN}})" "$(b64 {{q .SN}})" "$(b64 {{q .CN}})"
{{- if .Mail}}
		printf 'mail: %s\n' {{q .Mail}}
{{- end}}
	} | ldif_add
	set_password {{q .Password}}
{{- range .Groups}}
	join {{q .}}
{{- end}}
	;;
passwd)
	need_user
	set_password {{q .Password}}
	;;
exists)
	need_user
	;;
disable)
	need_user
	# Locked for good (the ppolicy overlay refuses every bind) until enable.
	printf 'dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n' "$dn" | ldif_modify
	;;
enable)
	need_user
	printf 'dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\n' "$dn" | ldif_modify
	;;
remove)
	need_user
	for g in $(groups_of); do
		leave "$g"
	done
	ldapdelete -Q -Y EXTERNAL -H "$ldapi" "$dn"
	;;
groups)
	need_user
{{- range .Groups}}
	join {{q .}}
{{- end}}
{{- range .Leave}}
	leave {{q .}}
{{- end}}
	groups_of
	;;
list)
	lq -b "$people" "(objectClass=inetOrgPerson)" uid cn mail pwdAccountLockedTime
	echo
	lq -b "$groups" "(objectClass=groupOfUniqueNames)" cn uniqueMember
	;;
*)
	echo "unknown operation $op" >&2
	exit 2
	;;
esac
