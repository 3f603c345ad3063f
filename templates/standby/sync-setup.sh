# The main server copies {{.Dir}} (kp-server with its upload folder, the
# built kp-client) to the standby every minute with rsync over SSH, with
# its own key (made here; the private half never leaves this host). The
# runner, the units and the standby's pinned host key are uploaded by
# collabstack before this runs.
conf={{q .Conf}}
if ! installed rsync; then
	todo "install rsync"
	apt_install rsync
fi
if [ ! -s "$conf/id_ed25519" ]; then
	todo "make this host's sync key"
	mkdir -p "$conf"
	chmod 700 "$conf"
	ssh-keygen -q -t ed25519 -N '' -C "collabstack-standby-sync@$(hostname)" -f "$conf/id_ed25519"
fi
if [ "$(systemctl show -p NeedDaemonReload --value collabstack-standby-sync.timer 2>/dev/null)" = yes ] ||
	[ "$(systemctl show -p NeedDaemonReload --value collabstack-standby-sync.service 2>/dev/null)" = yes ]; then
	todo "reload systemd for the changed sync units"
	systemctl daemon-reload
fi
if ! systemctl is-enabled --quiet collabstack-standby-sync.timer 2>/dev/null || ! systemctl is-active --quiet collabstack-standby-sync.timer; then
	todo "start collabstack-standby-sync.timer (every minute)"
	systemctl daemon-reload
	systemctl enable --now collabstack-standby-sync.timer
fi
