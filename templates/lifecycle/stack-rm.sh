# Takes a component's stack down (collabstack remove) and waits until its
# services and this node's containers of it are gone, so its volumes are
# free. Volumes are kept: a later apply that adds the component finds them.
set -eu
stack={{q .Stack}}
if docker stack ls --format '{{"{{.Name}}"}}' | grep -qx "$stack"; then
	docker stack rm "$stack"
else
	echo "no stack $stack on this swarm"
fi
i=0
while [ -n "$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")" ] ||
	[ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ]; do
	i=$((i + 1))
	if [ "$i" -gt 90 ]; then
		echo "the services or containers of $stack are still there after 3 minutes" >&2
		docker ps -a --filter "label=com.docker.stack.namespace=$stack" >&2
		exit 1
	fi
	sleep 2
done
echo "stack $stack removed"
