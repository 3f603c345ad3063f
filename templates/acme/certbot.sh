# certbot from the distribution, with its renewal timer on. When the ACME
# server's HTTPS certificate comes from a private CA, certbot is told to
# trust it, also when the timer renews.
ca_file={{q .CAFile}}
dropin=/etc/systemd/system/certbot.service.d/collabstack-ca.conf

if ! installed certbot; then
	todo "install certbot"
	apt_install certbot
fi
if [ -n "$ca_file" ]; then
	want="[Service]
Environment=REQUESTS_CA_BUNDLE=$ca_file"
	if ! same_content "$dropin" "$want"; then
		todo "let certbot's renewals trust the ACME server's CA ($ca_file)"
		mkdir -p "$(dirname "$dropin")"
		printf '%s\n' "$want" > "$dropin"
		systemctl daemon-reload
	fi
elif [ -e "$dropin" ]; then
	todo "remove $dropin: the site trusts no private ACME CA any more"
	rm -f "$dropin"
	systemctl daemon-reload
fi
# Renewal: Debian's certbot package ships certbot.timer (twice a day).
if [ "$(systemctl is-enabled certbot.timer 2>/dev/null)" != enabled ] || ! systemctl is-active --quiet certbot.timer; then
	todo "turn on certbot.timer, which renews certificates before they expire"
	systemctl enable --now certbot.timer
fi
