# Time sync: chrony when it is installed, else systemd-timesyncd; with NTP
# servers from the site file when it names some.
servers={{q .Servers}}
if installed chrony; then
	service=chrony
	conf=/etc/chrony/sources.d/collabstack.sources
	want=""
	for s in $servers; do
		want="${want}server $s iburst
"
	done
	want=$(printf '%s' "$want")
else
	service=systemd-timesyncd
	conf=/etc/systemd/timesyncd.conf.d/collabstack.conf
	want="[Time]
NTP=$servers"
	if ! installed systemd-timesyncd; then
		todo "install systemd-timesyncd"
		apt_install systemd-timesyncd
	fi
fi

changed=""
if [ -n "$servers" ]; then
	if ! same_content "$conf" "$want"; then
		todo "set the time servers of $service to: $servers"
		mkdir -p "$(dirname "$conf")"
		printf '%s\n' "$want" > "$conf"
		changed=1
	fi
elif [ -e "$conf" ]; then
	todo "remove $conf: the site file names no time servers"
	rm -f "$conf"
	changed=1
fi

if [ "$(systemctl is-enabled "$service" 2>/dev/null)" != enabled ]; then
	todo "enable $service"
	systemctl enable "$service"
	changed=1
fi
if in_container; then
	# A container keeps the host's clock: $service is skipped by its
	# unit's conditions and that is fine.
	:
elif ! systemctl is-active --quiet "$service"; then
	todo "start $service"
	changed=1
fi
if [ -n "$changed" ] && [ "${MODE:-apply}" = apply ]; then
	systemctl restart "$service"
fi
