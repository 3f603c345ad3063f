#!/bin/sh
# Installed by collabstack (firewall.revertPath) and run as
# `fwrevert.sh STATE_DIR [REASON]` by the transient timer collabstack-fwrevert when no new SSH
# connection confirmed a firewall change in time: puts the previous table
# inet collabstack back (or removes it when there was none). The reason is
# kept in STATE_DIR/reverted. A reboot reverts too:
# unconfirmed rules are never written where the boot unit reads them.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
state=${1:?usage: fwrevert.sh STATE_DIR [REASON]}
reason=${2:-"no new SSH connection confirmed the change in time"}
exec 9>"$state/lock"
flock 9
[ -f "$state/armed" ] || exit 0
{
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) putting the previous firewall back: $reason"
	if [ -f "$state/before.nft" ]; then
		nft -f "$state/before.nft"
	else
		nft delete table inet collabstack
	fi
} >> "$state/revert.log" 2>&1
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $reason" > "$state/reverted"
rm -f "$state/armed" "$state/before.nft"
