# collabstack: install Debian's SoftEther VPN server (MODE=check only reads).
set -u
pkgs="softether-vpnserver softether-vpncmd"
if [ "$MODE" = check ]; then
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || exit 1
  done
  exit 0
fi
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
policy=$(apt-cache policy softether-vpnserver)
if [ -z "$policy" ] || echo "$policy" | grep -q 'Candidate: (none)'; then
  echo "apt has no softether-vpnserver package here" >&2
  exit 3
fi
apt-get install -y -q $pkgs
