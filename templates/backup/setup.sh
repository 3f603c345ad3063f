# Backups on this host: restic (Debian's package), the folders, this
# host's own SSH key for SFTP repositories (its private half never leaves
# the host), and the timer. The key, the runner script and the units are
# uploaded by collabstack before this runs.
conf={{q .Conf}}
state={{q .State}}
schedule={{q .Schedule}}
for p in restic openssh-client; do
	if ! installed "$p"; then
		todo "install $p"
		apt_install "$p"
	fi
done
for d in "$conf" "$state"; do
	if [ ! -d "$d" ] || [ "$(stat -c %a "$d")" != 700 ]; then
		todo "create $d (mode 700)"
		mkdir -p "$d"
		chmod 700 "$d"
	fi
done
if [ ! -s "$conf/id_ed25519" ]; then
	todo "make this host's backup key"
	ssh-keygen -q -t ed25519 -N '' -C "collabstack-backup@$(hostname)" -f "$conf/id_ed25519"
fi
[ -f "$conf/known_hosts" ] || { todo "create $conf/known_hosts"; touch "$conf/known_hosts"; }
if [ "$(systemctl show -p NeedDaemonReload --value collabstack-backup.timer 2>/dev/null)" = yes ] ||
	[ "$(systemctl show -p NeedDaemonReload --value collabstack-backup.service 2>/dev/null)" = yes ]; then
	todo "reload systemd for the changed backup units"
	systemctl daemon-reload
fi
if ! systemctl is-enabled --quiet collabstack-backup.timer 2>/dev/null || ! systemctl is-active --quiet collabstack-backup.timer; then
	todo "start collabstack-backup.timer ($schedule)"
	systemctl daemon-reload
	systemctl enable --now collabstack-backup.timer
fi
