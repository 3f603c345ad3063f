# Reads what the host firewall is made from (changes nothing; runs as the
# login user, so SSH_CONNECTION is the one collabstack opened):
#   client=ADDRESS   where collabstack connects from, as this host sees it
#   net=CIDR         each global address of the host with its network
#                    (not Docker's bridges)
#   member=ADDRESS   each address of the swarm members' names
client=${SSH_CONNECTION:-}
echo "client=${client%% *}"
# Docker's own bridges are left out: they appear when Docker starts or the
# host joins the swarm (docker_gwbridge), so counting them would change
# the rules on the next run, and the input chain accepts them by name.
ip -o addr show scope global | awk '$2 !~ /^(docker0|docker_gwbridge|br-|veth)/ && ($3 == "inet" || $3 == "inet6") { print "net=" $4 }'
{{- range .Members}}
getent ahosts {{q .}} | awk '{ print "member=" $1 }' | sort -u || true
{{- end}}
