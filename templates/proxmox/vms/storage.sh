# The directory storage the VM images come from: Proxmox VE 8.3 or later
# (content type "import"), content types import and snippets enabled, and
# the cloud-init vendor snippet that installs the QEMU guest agent.
storage={{q .Storage}}
snippet={{q .Snippet}}
vendor={{q .Vendor}}

command -v pvesm >/dev/null 2>&1 || { echo "pvesm not found: is this a Proxmox VE host?" >&2; exit 2; }

version=$(pveversion | sed -n 's|^pve-manager/\([0-9]*\)\.\([0-9]*\).*|\1 \2|p')
# shellcheck disable=SC2086 # split "MAJOR MINOR" into $1 $2
set -- $version
if [ -z "${1:-}" ] || [ "$1" -lt 8 ] || { [ "$1" -eq 8 ] && [ "$2" -lt 3 ]; }; then
	echo "Proxmox VE ${1:-?}.${2:-?} is too old: collabstack imports VM disks from storage content 'import', new in 8.3; upgrade with apt full-upgrade" >&2
	exit 2
fi

config=$(pvesh get "/storage/$storage" --output-format json) || { echo "storage $storage does not exist (pvesm status lists the storages)" >&2; exit 2; }
printf '%s' "$config" | perl -MJSON::PP -e 'local $/; my $c = decode_json(<STDIN>); exit($c->{type} eq "dir" ? 0 : 1)' ||
	{ echo "storage $storage is not a directory storage: collabstack keeps images and snippets in one (set proxmox image storage)" >&2; exit 2; }
content=$(printf '%s' "$config" | perl -MJSON::PP -e 'local $/; my $c = decode_json(<STDIN>); print $c->{content} // ""')
want=$content
for c in import snippets; do
	case ",$want," in
	*",$c,"*) ;;
	*) want="${want:+$want,}$c" ;;
	esac
done
if [ "$want" != "$content" ]; then
	todo "enable content $want on storage $storage"
	pvesm set "$storage" --content "$want"
fi

path=$(pvesm path "$storage:snippets/$snippet")
if ! same_content "$path" "$vendor"; then
	todo "write the cloud-init vendor snippet $storage:snippets/$snippet"
	mkdir -p "$(dirname "$path")"
	printf '%s\n' "$vendor" > "$path.tmp"
	chmod 0644 "$path.tmp"
	mv "$path.tmp" "$path"
fi
