# The admin user: exists, has a bash login, may sudo, and has the password
# kept in collabstack's secrets. The password comes on stdin (never on a
# command line, where any user could read it in the process list).
user={{q .User}}
IFS= read -r password || { echo "no password on stdin" >&2; exit 2; }

if ! id -u "$user" >/dev/null 2>&1; then
	todo "create user $user"
	useradd --create-home --shell /bin/bash --groups sudo "$user"
fi
if ! in_group "$user" sudo; then
	todo "let $user use sudo"
	usermod -aG sudo "$user"
fi
if [ "$(getent passwd "$user" | cut -d: -f7)" != /bin/bash ]; then
	todo "give $user a bash login shell"
	usermod --shell /bin/bash "$user"
fi
hash=$(getent shadow "$user" | cut -d: -f2)
# crypt() from perl-base (always installed) checks the password against
# the hash; both travel on perl's stdin.
if ! printf '%s\n%s\n' "$hash" "$password" | perl -e 'my $h = <STDIN>; my $p = <STDIN>; chomp($h, $p); exit(length($h) > 3 && crypt($p, $h) eq $h ? 0 : 1)'; then
	todo "set the password of $user"
	printf '%s:%s\n' "$user" "$password" | chpasswd
fi
unset password
