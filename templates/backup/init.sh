# The repository exists and opens with the site's backup key (the key is
# in a 0600 file, never on the command line).
name={{q .Name}}
restic_() { {{range .Restic}}{{q .}} {{end}}"$@"; }
err=$(restic_ cat config 2>&1 >/dev/null) && exit 0
case $err in
*"wrong password"*)
	echo "the repository $name exists but does not open with this site's backup key: it belongs to another site, or the key in the secrets file (backup-key) was changed" >&2
	exit 1
	;;
*"does not exist"* | *"Is there a repository"* | *"no such file"*)
	todo "create the repository $name"
	restic_ init
	;;
*)
	echo "cannot open the repository $name: $err" >&2
	exit 1
	;;
esac
