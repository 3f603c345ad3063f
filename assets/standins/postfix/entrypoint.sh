#!/bin/sh
# Postfix relay stand-in, configured from boky/postfix's variables:
# POSTFIX_myhostname (default: the container's host name), MYNETWORKS, RELAYHOST,
# ALLOWED_SENDER_DOMAINS (empty: any sender).
set -eu
name=${POSTFIX_myhostname:-$(hostname)}
postconf -e "myhostname=$name" "mydestination=" "inet_interfaces=all" "inet_protocols=ipv4" \
	"mynetworks=${MYNETWORKS:-127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16}" \
	"relayhost=${RELAYHOST:-}" "maillog_file=/dev/stdout" \
	"smtpd_relay_restrictions=permit_mynetworks,reject"
if [ -n "${ALLOWED_SENDER_DOMAINS:-}" ]; then
	: > /etc/postfix/allowed_senders
	for d in $ALLOWED_SENDER_DOMAINS; do
		printf '%s OK\n' "$d" >> /etc/postfix/allowed_senders
	done
	postmap /etc/postfix/allowed_senders
	postconf -e "smtpd_sender_restrictions=check_sender_access hash:/etc/postfix/allowed_senders,reject"
fi
# No chroot: start-fg does not copy the files a chrooted smtpd needs.
postconf -F '*/*/chroot = n'
postconf -M submission/inet="submission inet n - n - - smtpd"
cp /etc/resolv.conf /etc/hosts /var/spool/postfix/etc/ 2>/dev/null || true
echo "postfix relay stand-in: $name, networks $(postconf -h mynetworks)"
exec postfix start-fg
