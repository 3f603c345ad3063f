# The backup bucket in the site's own Garage and collabstack's key for it,
# made with the garage CLI inside the garage service's container (the
# image has no shell: every command is `docker exec <task> /garage ...`,
# whose config GARAGE_CONFIG_FILE names; src/garage/cli/structs.rs of
# Garage v1.0.1 has the commands). Exits 3 when no garage task runs on
# this host. ACTION=read prints the state; ACTION=apply makes what is
# missing first. The key's lines (Key ID, Secret key) go to stdout only,
# which collabstack reads into the secrets file and never shows.
service={{q .Service}}
bucket={{q .Bucket}}
key={{q .Key}}
c=$(docker ps -q -f "label=com.docker.swarm.service.name=$service" | head -n1)
if [ -z "$c" ]; then
	echo "no $service task runs here" >&2
	exit 3
fi
g() { docker exec "$c" /garage "$@"; }
if g status 2>/dev/null | grep -q "NO ROLE ASSIGNED"; then
	echo "Garage has no cluster layout yet: assign it once (docker exec $c /garage status; /garage layout assign -z dc1 -c 200G <node id>; /garage layout apply --version 1), then run collabstack backup again" >&2
	exit 1
fi
if [ "${ACTION:-read}" = apply ]; then
	g bucket info "$bucket" >/dev/null 2>&1 || g bucket create "$bucket" >&2
	g key info "$key" >/dev/null 2>&1 || g key create "$key" >/dev/null
	g bucket allow --read --write --key "$key" "$bucket" >&2
fi
if g bucket info "$bucket" >/dev/null 2>&1; then echo "bucket: yes"; else echo "bucket: no"; fi
info=$(g key info --show-secret "$key" 2>/dev/null) || { echo "key: no"; exit 0; }
printf '%s\n' "$info" | grep -E '^(Key ID|Secret key): '
# The key's authorized buckets: a line of flags (R, W, O) and the bucket.
if printf '%s\n' "$info" | sed -n '/^Authorized buckets:/,$p' | grep -qE "^[[:space:]]*RWO?[[:space:]]+$bucket([[:space:]]|\$)"; then
	echo "allowed: yes"
else
	echo "allowed: no"
fi
