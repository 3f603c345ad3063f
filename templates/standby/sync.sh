#!/bin/sh
# Copy the upload folder to the standby, rendered by collabstack and run
# every minute by collabstack-standby-sync.timer. Files deleted here are
# deleted there. The time of the last good copy is written to last-sync
# in the state folder for `collabstack status`.
set -eu
conf={{q .Conf}}
state={{q .State}}
port={{q .Port}}
mkdir -p "$state"
rsync -a --delete -e "ssh -i $conf/id_ed25519 -o UserKnownHostsFile=$conf/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -p $port" \
	{{q .Dir}}/ {{q .Target}}:
date -u +%Y-%m-%dT%H:%M:%SZ >"$state/last-sync"
