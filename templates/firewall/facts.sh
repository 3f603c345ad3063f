# Reads what the host firewall is made from (changes nothing; runs as the
# login user, so SSH_CONNECTION is the one collabstack opened):
#   client=ADDRESS   where collabstack connects from, as this host sees it
#   net=CIDR         each global address of the host with its network
#   member=ADDRESS   each address of the swarm members' names
client=${SSH_CONNECTION:-}
echo "client=${client%% *}"
ip -o addr show scope global | awk '$3 == "inet" || $3 == "inet6" { print "net=" $4 }'
{{- range .Members}}
getent ahosts {{q .}} | awk '{ print "member=" $1 }' | sort -u || true
{{- end}}
