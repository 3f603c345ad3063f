# Runs a command in this node's running container of a swarm service with
# standard input passed on (SQL for the database engine).
set -eu
service={{q .Service}}
id=$(docker ps -q --filter status=running --filter "label=com.docker.swarm.service.name=$service" | head -n1)
if [ -z "$id" ]; then
	echo "no running container of $service on $(hostname)" >&2
	exit 1
fi
exec docker exec -i "$id"{{range .Args}} {{q .}}{{end}}
