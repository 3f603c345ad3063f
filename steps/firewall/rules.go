// Package firewall puts a host firewall (nftables, Debian's nft) on every
// prepared host: inbound traffic is dropped unless it is SSH from the
// admin networks, an app's public port, an admin console from the LAN or
// the admin networks, or swarm traffic between the swarm's members.
// Docker-published ports are judged in the forward hook, where they pass
// (Docker DNATs them to containers, so the input hook never sees them).
//
// A change is applied with an automatic revert, like the Proxmox bridge:
// a transient timer on the host puts the previous rules back unless a NEW
// SSH connection (established ones always pass) confirms the change in
// time. The rules are data: templates/firewall/rules.nft.tmpl.
package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/collabstack/collabstack/templates"
)

// Dir is where the firewall's templates live in templates.FS.
const Dir = "firewall/"

// Swarm ports, open between swarm members only: cluster management
// (2377/tcp), node gossip (7946/tcp+udp), overlay VXLAN (4789/udp).
var SwarmPorts = []string{"2377/tcp", "7946/tcp", "7946/udp", "4789/udp"}

// AdminPorts are the admin consoles the shared services publish:
// Portainer (9443) and the site's registry (5000). Only the LAN and the
// admin networks reach them.
var AdminPorts = []int{9443, 5000}

// Port is one public port or an inclusive range (To > 0).
type Port struct {
	From, To int
	UDP      bool
}

func (p Port) String() string {
	if p.To > p.From {
		return strconv.Itoa(p.From) + "-" + strconv.Itoa(p.To)
	}
	return strconv.Itoa(p.From)
}

// Rules is the firewall of one host.
type Rules struct {
	Host    string
	SSHPort int
	// Admin may reach SSH; Trusted (admin networks and the LAN) may reach
	// the admin consoles; Swarm are the swarm members' addresses.
	Admin, Trusted, Swarm []netip.Prefix
	// Public ports are open to everyone; LAN ports to Trusted only (an
	// app's port that is not public, such as RADIUS).
	Public, LAN []Port
	// AdminTCP are the admin consoles' ports.
	AdminTCP []int
}

// Render returns the nft ruleset (nft -f input).
func (r Rules) Render() ([]byte, error) {
	if r.SSHPort <= 0 || r.SSHPort > 65535 {
		return nil, fmt.Errorf("firewall of %s: SSH port %d", r.Host, r.SSHPort)
	}
	if len(r.Admin) == 0 {
		return nil, fmt.Errorf("firewall of %s: no admin network would reach SSH", r.Host)
	}
	split := func(ps []netip.Prefix) (v4, v6 []string) {
		for _, p := range compact(ps) {
			if p.Addr().Is4() {
				v4 = append(v4, p.String())
			} else {
				v6 = append(v6, p.String())
			}
		}
		return v4, v6
	}
	d := map[string]any{"Host": r.Host, "SSHPort": r.SSHPort}
	d["Admin4"], d["Admin6"] = split(r.Admin)
	// The swarm's members pull from the registry: trusted too.
	d["Trusted4"], d["Trusted6"] = split(append(append(slices.Clone(r.Admin), r.Trusted...), r.Swarm...))
	d["Swarm4"], d["Swarm6"] = split(r.Swarm)
	byProto := func(ports []Port) (tcp, udp []string, err error) {
		for _, p := range compactPorts(ports) {
			if p.From <= 0 || p.From > 65535 || p.To > 65535 || (p.To != 0 && p.To < p.From) {
				return nil, nil, fmt.Errorf("firewall of %s: bad port %s", r.Host, p)
			}
			if p.UDP {
				udp = append(udp, p.String())
			} else {
				tcp = append(tcp, p.String())
			}
		}
		return tcp, udp, nil
	}
	tcp, udp, err := byProto(r.Public)
	if err != nil {
		return nil, err
	}
	lanTCP, lanUDP, err := byProto(r.LAN)
	if err != nil {
		return nil, err
	}
	d["LANTCP"], d["LANUDP"] = lanTCP, lanUDP
	var admin []string
	for _, p := range slices.Compact(slices.Sorted(slices.Values(r.AdminTCP))) {
		admin = append(admin, strconv.Itoa(p))
	}
	d["PublicTCP"], d["PublicUDP"], d["AdminTCP"] = tcp, udp, admin
	// Every value is a parsed address, prefix or number: nothing to escape.
	return templates.Render(Dir+"rules.nft.tmpl", d, nil)
}

// Hash identifies a ruleset on the host (what the check compares).
func Hash(rules []byte) string {
	h := sha256.Sum256(rules)
	return hex.EncodeToString(h[:])
}

// compact sorts prefixes, masks them and drops those inside another.
func compact(ps []netip.Prefix) []netip.Prefix {
	var in []netip.Prefix
	for _, p := range ps {
		if p.IsValid() {
			in = append(in, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p)).Masked())
		}
	}
	slices.SortFunc(in, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var out []netip.Prefix
	for _, p := range in {
		covered := false
		for _, o := range out {
			if o.Bits() <= p.Bits() && o.Contains(p.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}

// compactPorts sorts ports and drops duplicates and single ports inside
// a range of the same protocol.
func compactPorts(ps []Port) []Port {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b Port) int {
		if a.UDP != b.UDP {
			if a.UDP {
				return 1
			}
			return -1
		}
		if a.From != b.From {
			return a.From - b.From
		}
		return b.To - a.To
	})
	var res []Port
	for _, p := range out {
		if n := len(res); n > 0 {
			last := res[n-1]
			end := max(last.From, last.To)
			if last.UDP == p.UDP && p.From <= end && max(p.From, p.To) <= end {
				continue
			}
		}
		res = append(res, p)
	}
	return res
}
