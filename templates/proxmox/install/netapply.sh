#!/bin/sh
# Installed as /usr/local/lib/collabstack/netapply.sh by collabstack and
# run in the transient unit collabstack-netapply (so a dropped SSH
# session cannot stop it): reloads the network from
# /etc/network/interfaces and records the result for bridge-confirm.sh.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
state_dir={{q .StateDir}}
# Let the SSH command that started this return first.
sleep 1
mkdir -p /run/network
ifreload -a > "$state_dir/apply.log" 2>&1
rc=$?
# A token drawn after the change: collabstack must read it and send it
# back, which proves traffic flows both ways through the new configuration.
cat /proc/sys/kernel/random/uuid > "$state_dir/applied.token"
echo "$rc" > "$state_dir/applied.rc.tmp"
mv "$state_dir/applied.rc.tmp" "$state_dir/applied.rc"
exit "$rc"
