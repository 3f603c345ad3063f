# A bare XFCE desktop started only by `startxfce4`: no display manager is
# enabled and the system boots to the text console (multi-user.target).
missing=""
for p in xfce4 xfce4-terminal dbus-x11 xinit xserver-xorg; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	todo "install$missing"
	# shellcheck disable=SC2086 # one word per package
	apt_install $missing
fi
for dm in lightdm gdm3 sddm lxdm xdm slim nodm; do
	if systemctl is-enabled --quiet "$dm" 2>/dev/null; then
		todo "disable the display manager $dm (XFCE starts only with startxfce4)"
		systemctl disable "$dm"
	fi
done
if [ -e /etc/systemd/system/display-manager.service ]; then
	todo "remove the display-manager.service link"
	rm -f /etc/systemd/system/display-manager.service
fi
if [ "$(systemctl get-default)" != multi-user.target ]; then
	todo "boot to the text console (multi-user.target)"
	systemctl set-default multi-user.target
fi
