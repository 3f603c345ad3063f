# Prints the logs of one service of a stack, or of every service of it
# side by side (collabstack logs COMPONENT [SERVICE]). Lines pass through
# collabstack's redactor on their way to the terminal.
stack={{q .Stack}}
service={{q .Service}}
set -- --no-task-ids --tail {{q .Tail}}
{{- if .Since}}
set -- "$@" --since {{q .Since}}
{{- end}}
{{- if .Follow}}
set -- "$@" --follow
{{- end}}
if [ -n "$service" ]; then
	exec docker service logs "$@" "${stack}_$service" 2>&1
fi
services=$(docker stack services --format '{{"{{.Name}}"}}' "$stack" 2>/dev/null)
if [ -z "$services" ]; then
	echo "no stack $stack on this swarm: is it deployed (collabstack status)?" >&2
	exit 3
fi
for s in $services; do
	docker service logs "$@" "$s" 2>&1 &
done
wait
