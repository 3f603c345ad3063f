# Applies a new /etc/network/interfaces with an automatic revert. The
# previous file is saved, the revert timer (collabstack-netrevert.timer,
# installed and enabled so it also fires after a reboot) is armed, the new
# file is put in place, and ifreload -a runs in its own transient unit so
# that a dropped SSH connection cannot stop it halfway. collabstack then
# reaches the host again and confirms with bridge-confirm.sh; without that, the timer puts the
# previous file back and reloads the network.
# NEW is the staged file.
BRIDGE={{q .Bridge}}
NEW={{q .New}}
REVERT_SECONDS={{q .RevertSeconds}}
state_dir={{q .StateDir}}
lib_dir={{q .LibDir}}
if ! command -v ifreload >/dev/null 2>&1; then
	echo "ifreload is missing: install ifupdown2 (apt-get install ifupdown2; Proxmox VE depends on it) and run apply again" >&2
	exit 1
fi
for f in "$NEW" "$lib_dir/netapply.sh" "$lib_dir/netrevert.sh" /etc/systemd/system/collabstack-netrevert.service /etc/systemd/system/collabstack-netrevert.timer; do
	if [ ! -f "$f" ]; then
		echo "$f is missing: collabstack uploads it before this script" >&2
		exit 1
	fi
done
mkdir -p /run/network "$state_dir"
if ! out=$(ifup -a -s -i "$NEW" 2>&1); then
	printf '%s\n' "$out" >&2
	echo "ifupdown2 refuses the new interfaces file $NEW: nothing was changed" >&2
	exit 1
fi

exec 9>"$state_dir/lock"
flock 9
if [ -f "$state_dir/armed" ]; then
	echo "a network change is already waiting for confirmation (since $(cat "$state_dir/armed")): run apply again once the revert timer has fired, or see docs/proxmox.md" >&2
	exit 1
fi
rm -f "$state_dir/reverted" "$state_dir/applied.rc" "$state_dir/applied.token" "$state_dir/apply.log" "$state_dir/revert.log"
if [ -f /etc/network/interfaces ]; then
	cp -p /etc/network/interfaces "$state_dir/interfaces.before"
	[ -f /etc/network/interfaces.pre-collabstack ] || cp -p /etc/network/interfaces /etc/network/interfaces.pre-collabstack
else
	: > "$state_dir/interfaces.before"
fi
printf '%s\n' "$BRIDGE" > "$state_dir/bridge"
date -u +%Y-%m-%dT%H:%M:%SZ > "$state_dir/armed"
systemctl daemon-reload
systemctl enable collabstack-netrevert.timer
systemctl restart collabstack-netrevert.timer
echo "armed: the previous network configuration comes back in ${REVERT_SECONDS}s unless collabstack confirms"

cp "$NEW" /etc/network/interfaces.collabstack-tmp
mv /etc/network/interfaces.collabstack-tmp /etc/network/interfaces
systemctl reset-failed collabstack-netapply.service >/dev/null 2>&1 || true
systemd-run --unit=collabstack-netapply --description="collabstack: apply the network configuration" \
	--collect --no-block /bin/sh "$lib_dir/netapply.sh"
echo "applying the new network configuration (ifreload -a)"
