# The API user, its role (exactly the privileges collabstack uses), the
# role on / for the user, and the API token (privilege separation off, so
# the token has the user's privileges). pveum reads and writes
# /etc/pve/user.cfg; JSON is read with perl's core JSON::PP.
#
# MODE=check: done when all four exist as wanted.
# MODE=apply: makes what is missing. RENEW=1 removes the token first (its
# secret was lost or refused). When a token is made its JSON (holding the
# secret, shown only this once) is the only line on stdout starting "{".
user={{q .User}}
role={{q .Role}}
privs={{q .Privs}}
tokenid={{q .TokenName}}
comment={{q .Comment}}

command -v pveum >/dev/null 2>&1 || { echo "pveum not found: is this a Proxmox VE host?" >&2; exit 2; }

# json_has ARRAY-JSON KEY VALUE: an object of the array has KEY = VALUE.
json_has() {
	printf '%s' "$1" | perl -MJSON::PP -e '
		my ($k, $v) = @ARGV; local $/; my $a = decode_json(<STDIN>);
		exit((grep { defined $_->{$k} && $_->{$k} eq $v } @$a) ? 0 : 1);' "$2" "$3"
}

# role_privs: the privileges of the role, sorted, comma separated.
role_privs() {
	pveum role list --output-format json | perl -MJSON::PP -e '
		my ($r) = @ARGV; local $/; my $a = decode_json(<STDIN>);
		for (@$a) { next unless $_->{roleid} eq $r;
			my $p = $_->{privs}; my @p = ref($p) eq "ARRAY" ? @$p : split(/,/, $p);
			print join(",", sort @p), "\n"; }' "$role"
}

if ! json_has "$(pveum user list --output-format json)" userid "$user"; then
	todo "create the API user $user"
	pveum user add "$user" --comment "$comment"
fi

have=$(role_privs)
if [ -z "$have" ]; then
	todo "create the role $role"
	pveum role add "$role" --privs "$privs"
elif [ "$have" != "$privs" ]; then
	todo "set the privileges of the role $role (has $have)"
	pveum role modify "$role" --privs "$privs"
fi

acl=$(pveum acl list --output-format json | perl -MJSON::PP -e '
	my ($u, $r) = @ARGV; local $/; my $a = decode_json(<STDIN>);
	print scalar(grep { $_->{path} eq "/" && $_->{ugid} eq $u && $_->{roleid} eq $r && $_->{type} eq "user" } @$a);' "$user" "$role")
if [ "$acl" = 0 ]; then
	todo "give $user the role $role on /"
	pveum acl modify / --users "$user" --roles "$role" --propagate 1
fi

tokens=$(pveum user token list "$user" --output-format json)
if json_has "$tokens" tokenid "$tokenid"; then
	if [ "${RENEW:-0}" = 1 ]; then
		todo "replace the API token $user!$tokenid"
		pveum user token remove "$user" "$tokenid" >&2
	else
		exit 0
	fi
else
	todo "create the API token $user!$tokenid"
fi
pveum user token add "$user" "$tokenid" --privsep 0 --comment "$comment" --output-format json | tr -d '\n'
echo
