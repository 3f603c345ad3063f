# Docker engine from Docker's own repository (docker-ce), as Docker's
# install guide for Debian and Ubuntu does it. The distribution's
# conflicting packages are removed first; /var/lib/docker is kept.
admin={{q .Admin}}
repo={{q .RepoURL}}
# shellcheck source=/dev/null # the host's, read at run time
. /etc/os-release
case "$ID" in
debian | ubuntu) ;;
*)
	echo "Docker's repository: $ID is not Debian or Ubuntu" >&2
	exit 2
	;;
esac
keyring=/etc/apt/keyrings/docker.asc
list=/etc/apt/sources.list.d/docker.list
want="deb [arch=$(dpkg --print-architecture) signed-by=$keyring] $repo/$ID $VERSION_CODENAME stable"

if [ ! -s "$keyring" ]; then
	todo "fetch Docker's signing key into $keyring"
	installed curl || apt_install curl ca-certificates
	install -m 0755 -d /etc/apt/keyrings
	curl -fsSL "$repo/$ID/gpg" -o "$keyring"
	chmod a+r "$keyring"
fi
if ! same_content "$list" "$want"; then
	todo "add Docker's repository ($list)"
	printf '%s\n' "$want" > "$list"
	apt_updated=""
fi
conflicts=""
for p in docker.io docker-doc docker-compose podman-docker containerd runc; do
	installed "$p" && conflicts="$conflicts $p"
done
if [ -n "$conflicts" ]; then
	todo "remove the distribution's$conflicts (they conflict with docker-ce)"
	# shellcheck disable=SC2086 # one word per package
	apt-get -o DPkg::Lock::Timeout=600 remove -y -q $conflicts
fi
missing=""
for p in docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	todo "install$missing"
	# shellcheck disable=SC2086 # one word per package
	apt_install $missing
fi
if [ "$(systemctl is-enabled docker 2>/dev/null)" != enabled ]; then
	todo "enable the docker service"
	systemctl enable docker
fi
if ! systemctl is-active --quiet docker; then
	todo "start the docker service"
	systemctl start docker
fi
if ! in_group "$admin" docker; then
	todo "let $admin use docker (group docker)"
	usermod -aG docker "$admin"
fi
