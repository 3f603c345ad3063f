# Docker engine from the distribution (docker.io). An engine that is
# already installed (docker.io or Docker's docker-ce) is kept.
admin={{q .Admin}}
if ! command -v dockerd >/dev/null 2>&1; then
	todo "install docker.io"
	apt_install docker.io
fi
if [ "$(systemctl is-enabled docker 2>/dev/null)" != enabled ]; then
	todo "enable the docker service"
	systemctl enable docker
fi
if ! systemctl is-active --quiet docker; then
	todo "start the docker service"
	systemctl start docker
fi
if ! docker info >/dev/null 2>&1; then
	echo "dockerd runs but does not answer: see journalctl -u docker" >&2
	exit 2
fi
if ! in_group "$admin" docker; then
	todo "let $admin use docker (group docker)"
	usermod -aG docker "$admin"
fi
