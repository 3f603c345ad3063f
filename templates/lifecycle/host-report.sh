# What a support bundle says of one host (collabstack support-bundle): it
# reads, changes nothing, and keeps going past what the host lacks. Its
# output passes through collabstack's redactor before it is written.
since={{q .Since}}
section() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
section "host"
hostname
uname -a
[ -r /etc/os-release ] && sed -n 's/^PRETTY_NAME=//p' /etc/os-release
uptime
section "disk"
df -hP -x tmpfs -x devtmpfs -x overlay 2>/dev/null || df -h
section "memory"
free -m 2>/dev/null || cat /proc/meminfo
if have systemctl; then
	section "failed units"
	systemctl --failed --no-pager --plain 2>&1
fi
if have docker; then
	section "docker version"
	docker version --format 'client {{"{{.Client.Version}}"}}, server {{"{{.Server.Version}}"}}' 2>&1
	docker info --format 'swarm: {{"{{.Swarm.LocalNodeState}}"}}, manager: {{"{{.Swarm.ControlAvailable}}"}}, containers: {{"{{.Containers}}"}} ({{"{{.ContainersRunning}}"}} running)' 2>&1
	section "containers"
	docker ps -a --format 'table {{"{{.Names}}"}}\t{{"{{.Image}}"}}\t{{"{{.Status}}"}}' 2>&1
	section "volumes"
	docker volume ls --format '{{"{{.Name}}"}}' 2>&1
	if [ "$(docker info --format '{{"{{.Swarm.ControlAvailable}}"}}' 2>/dev/null)" = true ]; then
		section "swarm nodes"
		docker node ls 2>&1
		section "stacks"
		docker stack ls 2>&1
		section "services"
		docker service ls 2>&1
		for s in $(docker service ls -q 2>/dev/null); do
			section "tasks of $(docker service inspect --format '{{"{{.Spec.Name}}"}}' "$s" 2>/dev/null)"
			docker service ps --no-trunc --format '{{"{{.Name}}"}} on {{"{{.Node}}"}}: {{"{{.DesiredState}}"}}, {{"{{.CurrentState}}"}} {{"{{.Error}}"}}' "$s" 2>&1 | head -n 10
		done
	fi
fi
if have journalctl; then
	section "docker's log since $since"
	journalctl -u docker --since "$since" --no-pager -q 2>&1 | tail -n 300
	section "collabstack's timers and units"
	systemctl list-timers --all --no-pager 2>&1 | grep -i collabstack
fi
if have nft; then
	section "firewall (nft list table inet collabstack)"
	nft list table inet collabstack 2>&1 | head -n 200
fi
exit 0
