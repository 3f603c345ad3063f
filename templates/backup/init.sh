# The repository {{.Name}} exists and opens with the site's backup key.
# (The restic command line below is quoted by collabstack; the key is in
# a 0600 file, never on the command line.)
err=$({{.Restic}} cat config 2>&1 >/dev/null) && exit 0
case $err in
*"wrong password"*)
	echo "the repository {{.Name}} exists but does not open with this site's backup key: it belongs to another site, or the key in the secrets file (backup-key) was changed" >&2
	exit 1
	;;
*"does not exist"* | *"Is there a repository"* | *"no such file"*)
	todo "create the repository {{.Name}}"
	{{.Restic}} init
	;;
*)
	echo "cannot open the repository {{.Name}}: $err" >&2
	exit 1
	;;
esac
