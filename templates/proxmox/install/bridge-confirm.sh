# Confirms a network change in two rounds, each started by collabstack
# over SSH after bridge-apply.sh, so that a confirmation proves traffic
# flows both ways through the new configuration:
#   STAGE=status   waits for nothing: once ifreload has finished well and
#                  the bridge carries the expected address, prints the
#                  token netapply.sh drew after the change ("token: ...");
#   STAGE=confirm  with that TOKEN: disarms and removes the revert timer.
# A command that reached the host before the change sees no result yet
# (exit 5), so it cannot confirm a change that cut the host off.
# Exit status: 0 done (or nothing was waiting), 3 the timer had already
# put the previous configuration back, 4 the new configuration did not
# come up (it is put back now), 5 not applied yet, 6 wrong token.
# ADDRESS is a CIDR, or empty for any; TOKEN is empty in the status stage.
STAGE={{q .Stage}}
BRIDGE={{q .Bridge}}
ADDRESS={{q .Address}}
TOKEN={{q .Token}}
state_dir={{q .StateDir}}
lib_dir={{q .LibDir}}

not_armed() {
	if [ -f "$state_dir/reverted" ]; then
		echo "reverted: $(cat "$state_dir/reverted")"
		exit 3
	fi
	echo "nothing is waiting for confirmation"
	exit 0
}

[ -f "$state_dir/armed" ] || not_armed
case "$STAGE" in
status)
	if [ ! -f "$state_dir/applied.rc" ]; then
		echo "pending: the new configuration is being applied"
		exit 5
	fi
	rc=$(cat "$state_dir/applied.rc")
	bad=""
	if [ "$rc" != 0 ]; then
		bad="ifreload -a ended with status $rc"
	elif ! ip -4 -o addr show dev "$BRIDGE" 2>/dev/null | grep -q ' inet '; then
		bad="$BRIDGE has no IPv4 address"
	elif [ -n "$ADDRESS" ] && ! ip -4 -o addr show dev "$BRIDGE" | grep -qF " inet $ADDRESS "; then
		bad="$BRIDGE does not carry $ADDRESS"
	fi
	if [ -n "$bad" ]; then
		echo "the new network configuration did not come up: $bad; putting the previous one back" >&2
		[ -f "$state_dir/apply.log" ] && sed 's/^/  ifreload: /' "$state_dir/apply.log" >&2
		/bin/sh "$lib_dir/netrevert.sh" "$bad"
		exit 4
	fi
	echo "token: $(cat "$state_dir/applied.token")"
	;;
confirm)
	exec 9>"$state_dir/lock"
	flock 9
	[ -f "$state_dir/armed" ] || not_armed
	if [ -z "$TOKEN" ] || [ "$TOKEN" != "$(cat "$state_dir/applied.token" 2>/dev/null)" ]; then
		echo "the confirmation token does not match this change" >&2
		exit 6
	fi
	systemctl disable --now collabstack-netrevert.timer >/dev/null 2>&1 || true
	rm -f /etc/systemd/system/collabstack-netrevert.timer /etc/systemd/system/collabstack-netrevert.service
	systemctl daemon-reload
	rm -f "$state_dir/armed" "$state_dir/interfaces.before" "$state_dir/applied.rc" "$state_dir/applied.token"
	echo "confirmed: $BRIDGE is up ($(ip -4 -o addr show dev "$BRIDGE" | awk '{ print $4; exit }')); the revert timer is removed"
	;;
*)
	echo "STAGE must be status or confirm, not $STAGE" >&2
	exit 2
	;;
esac
