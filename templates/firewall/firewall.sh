# The host firewall (nftables table inet collabstack), applied with an
# automatic revert. Rendered behind script/lib.sh.
#   MODE=check               done when the confirmed rules are the wanted
#                            ones, loaded, and loaded again at boot.
#   MODE=apply STAGE=arm     checks the staged rules (nft -c), saves the
#                            table as it is, arms a revert timer, loads
#                            the new rules. Nothing is kept yet.
#   MODE=apply STAGE=confirm run by collabstack over a NEW SSH connection
#                            after arm: keeps the rules (file, boot unit)
#                            and disarms the timer.
# Without a confirm, the timer runs fwrevert.sh: the previous table comes
# back (or none, when there was none). Exit 3: already reverted.
state={{q .StateDir}}
revert={{q .RevertPath}}
revert_after={{q .RevertSeconds}}
new="$state/rules.new"
kept=/etc/collabstack/firewall.nft
unit=collabstack-firewall.service
want={{q .Hash}}

if [ "$MODE" = check ]; then
	command -v nft >/dev/null 2>&1 || todo "install nftables"
	[ ! -f "$state/armed" ] || todo "a firewall change waits for confirmation since $(cat "$state/armed")"
	[ "$(cat /etc/collabstack/firewall.sha256 2>/dev/null || true)" = "$want" ] || todo "write the firewall rules"
	nft list table inet collabstack >/dev/null 2>&1 || todo "load the firewall rules"
	systemctl is-enabled --quiet "$unit" 2>/dev/null || todo "load the firewall rules at boot"
	exit 0
fi

case "${STAGE:-}" in
arm)
	if ! command -v nft >/dev/null 2>&1; then
		apt_install nftables
	fi
	[ -f "$new" ] || { echo "$new is missing: collabstack uploads it before this script" >&2; exit 1; }
	if ! nft -c -f "$new"; then
		echo "nft refuses the new rules in $new: nothing was changed" >&2
		exit 1
	fi
	if [ -f "$state/armed" ]; then
		# A change left unconfirmed by an interrupted run: put it back first.
		/bin/sh "$revert" "$state" "a new change replaces it"
	fi
	exec 9>"$state/lock"
	flock 9
	rm -f "$state/reverted"
	if nft list table inet collabstack > "$state/before.tmp" 2>/dev/null; then
		{ echo "table inet collabstack"; echo "delete table inet collabstack"; cat "$state/before.tmp"; } > "$state/before.nft"
	else
		rm -f "$state/before.nft"
	fi
	rm -f "$state/before.tmp"
	date -u +%Y-%m-%dT%H:%M:%SZ > "$state/armed"
	systemctl stop collabstack-fwrevert.timer >/dev/null 2>&1 || true
	systemctl reset-failed collabstack-fwrevert.timer collabstack-fwrevert.service >/dev/null 2>&1 || true
	systemd-run --quiet --unit=collabstack-fwrevert --on-active="${revert_after}s" --timer-property=AccuracySec=1s \
		--description="collabstack: put the previous firewall back unless confirmed" \
		/bin/sh "$revert" "$state"
	echo "armed: the previous firewall comes back in ${revert_after}s unless a new SSH connection confirms"
	nft -f "$new"
	echo "loaded: the new firewall rules are active"
	;;
confirm)
	exec 9>"$state/lock"
	flock 9
	if [ ! -f "$state/armed" ]; then
		if [ -f "$state/reverted" ]; then
			echo "reverted: $(cat "$state/reverted")"
			exit 3
		fi
		echo "nothing waits for confirmation"
		exit 0
	fi
	mkdir -p /etc/collabstack
	cp "$new" "$kept.tmp"
	mv "$kept.tmp" "$kept"
	printf '%s\n' "$want" > /etc/collabstack/firewall.sha256
	systemctl daemon-reload
	systemctl enable --quiet "$unit"
	systemctl stop collabstack-fwrevert.timer >/dev/null 2>&1 || true
	rm -f "$state/armed" "$state/before.nft"
	echo "confirmed: a new SSH connection got through; the firewall is kept and loaded at boot"
	;;
*)
	echo "STAGE must be arm or confirm, not ${STAGE:-nothing}" >&2
	exit 2
	;;
esac
