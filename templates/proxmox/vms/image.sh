# One pinned image, downloaded once and checked against its published
# checksum before it is used; a file that does not match is removed.
path={{q .Path}}
url={{q .URL}}
algo={{q .Algo}}
sum={{q .Sum}}

verify() {
	echo "$sum  $1" | "${algo}sum" --check --status
}

if [ -f "$path" ] && verify "$path"; then
	exit 0
fi
if [ -f "$path" ]; then
	todo "replace $path: its $algo checksum is not the pinned one"
else
	todo "download $url"
fi
mkdir -p "$(dirname "$path")"
part="$path.part"
rm -f "$part"
if command -v curl >/dev/null 2>&1; then
	curl --fail --location --silent --show-error --retry 3 --output "$part" "$url"
else
	wget --quiet --tries=3 --output-document="$part" "$url"
fi
if ! verify "$part"; then
	rm -f "$part"
	echo "$url does not have the pinned $algo checksum $sum: the download is corrupt or the file changed upstream" >&2
	exit 3
fi
mv "$part" "$path"
echo "downloaded and verified $path"
