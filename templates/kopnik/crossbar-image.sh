# Crossbar's image (the upstream one plus what kp-client's authenticator
# imports), built here from the context on stdin, and kp-client's
# .crossbar owned by the image's crossbar user: Crossbar writes node.pid,
# its key pair and cookies.dat there.
base={{q .Base}}
tag={{q .Tag}}
cbdir={{q .CrossbarDir}}
if ! docker image inspect --format ok "$tag" >/dev/null 2>&1; then
	todo "build $tag from $base"
	ctx=$(mktemp -d)
	trap 'rm -rf "$ctx"' EXIT
	base64 -d | tar -x -C "$ctx"
	docker image inspect --format ok "$base" >/dev/null 2>&1 || docker pull -q "$base"
	DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" -t "$tag" "$ctx"
fi
uid=$(docker run --rm --entrypoint id "$tag" -u)
if [ ! -d "$cbdir" ]; then
	echo "$cbdir is missing: kp-client has no .crossbar folder" >&2
	exit 1
fi
if [ -n "$(find "$cbdir" ! -uid "$uid" -print -quit)" ]; then
	todo "give $cbdir to the crossbar user (uid $uid)"
	chown -R "$uid:$uid" "$cbdir"
fi
