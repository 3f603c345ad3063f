# Removes a removed component's volumes on this node (collabstack remove
# --purge, after the user typed the component's name). Waits for its
# containers here to be gone first: a volume in use cannot be removed.
set -eu
stack={{q .Stack}}
i=0
while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ]; do
	i=$((i + 1))
	if [ "$i" -gt 90 ]; then
		echo "containers of $stack are still on $(hostname) after 3 minutes: its volumes stay" >&2
		exit 1
	fi
	sleep 2
done
for v in $(docker volume ls -q --filter "label=com.docker.stack.namespace=$stack"); do
	docker volume rm "$v" >/dev/null
	echo "volume $v removed on $(hostname)"
done
