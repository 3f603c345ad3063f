# collabstack: install smartdns (MODE=check only reads).
set -u
if [ "$MODE" = check ]; then
  dpkg-query -W -f='${Status}' smartdns 2>/dev/null | grep -q 'install ok installed'
  exit $?
fi
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
policy=$(apt-cache policy smartdns)
if [ -z "$policy" ] || echo "$policy" | grep -q 'Candidate: (none)'; then
  echo "apt has no smartdns package here" >&2
  exit 3
fi
apt-get install -y -q smartdns
