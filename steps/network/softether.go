package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// SoftEther modes: how VPN clients reach the network.
const (
	// ModeBridge bridges the hub to a NIC on the VPN segment, where
	// vpn-openwrt hands out addresses and NATs the clients into the LAN.
	ModeBridge = "bridge"
	// ModeSecureNAT lets SoftEther itself hand out addresses from the VPN
	// subnet and NAT the clients out through the VPN host's own address.
	ModeSecureNAT = "securenat"
)

// Secret names (`collabstack secret show NAME`).
const (
	SoftEtherAdminSecret = "softether-admin-password"
	SoftEtherHubSecret   = "softether-hub-password"
	SoftEtherPSKSecret   = "softether-ipsec-psk"
	// VPNUserSecretPrefix + user name is a VPN user's password.
	VPNUserSecretPrefix = "vpn-user-"
)

// SoftEtherOptions tune SoftEtherSteps beyond the site file.
type SoftEtherOptions struct {
	// Hub is the virtual hub of the site's users (default VPN).
	Hub string
	// AdminPort is the listener vpncmd talks to on localhost (default
	// 5555, SoftEther's own port; 443 is the edge's on the outer router).
	AdminPort int
	// Mode is ModeBridge or ModeSecureNAT; default bridge on a VM with a
	// NIC on the VPN bridge, SecureNAT on an existing host.
	Mode string
	// BridgeDevice is the NIC (or, with BridgeTap, the tap name) the hub
	// is bridged to (default: the VM's NIC on the VPN bridge, else eth1).
	BridgeDevice string
	// BridgeTap bridges to a new tap device instead of a NIC.
	BridgeTap bool
	// NoL2TP and NoOpenVPN turn those protocols off (both on by default).
	NoL2TP, NoOpenVPN bool
	// PublicHost is what client profiles connect to (default:
	// network.public_ipv4, else the domain).
	PublicHost string
	// Timeout bounds one vpncmd run (default 60 s).
	Timeout time.Duration
}

func (o SoftEtherOptions) withDefaults(s *site.Site, vpnHost string) SoftEtherOptions {
	if o.Hub == "" {
		o.Hub = "VPN"
	}
	if o.AdminPort == 0 {
		o.AdminPort = 5555
	}
	n, isNode := findNode(s, vpnHost)
	if o.BridgeDevice == "" {
		o.BridgeDevice = "eth1"
		if isNode && n.VM && s.Network != nil {
			for i, b := range n.Bridges {
				if b == s.Network.VPNBridge {
					o.BridgeDevice = fmt.Sprintf("eth%d", i)
				}
			}
		}
	}
	if o.Mode == "" {
		o.Mode = ModeSecureNAT
		if isNode && n.VM {
			o.Mode = ModeBridge
		}
	}
	if o.PublicHost == "" {
		o.PublicHost = s.Domain
		if s.Network != nil && s.Network.PublicIPv4 != "" {
			o.PublicHost = s.Network.PublicIPv4
		}
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	return o
}

// SoftEtherPorts are the ports the outer router forwards to the VPN
// server: SoftEther's own TCP 5555, OpenVPN's UDP 1194, and UDP 500 and
// 4500 for L2TP/IPsec.
func SoftEtherPorts(o SoftEtherOptions) []Port {
	ports := []Port{{"tcp", 5555}}
	if !o.NoOpenVPN {
		ports = append(ports, Port{"udp", 1194})
	}
	if !o.NoL2TP {
		ports = append(ports, Port{"udp", 500}, Port{"udp", 4500})
	}
	return ports
}

// userMarker is the description collabstack gives a VPN user: a hash of
// name and password, so a changed password in the secrets file shows.
func userMarker(user, password string) string {
	sum := sha256.Sum256([]byte("collabstack-vpn\x00" + user + "\x00" + password))
	return "collabstack:" + hex.EncodeToString(sum[:8])
}

// softState is what the server has now.
type softState struct {
	Hubs      map[string]bool
	Users     map[string]string // user -> description
	SecureNAT bool
	DHCP      map[string]string
	NATHost   map[string]string
	Bridges   [][2]string // hub, device
	IPsec     map[string]string
	OpenVPN   bool
	UDPPorts  string
}

// readState reads the server's settings with the admin password.
func (v vpncmd) readState(ctx context.Context, env *engine.Env, password, hub string) (*softState, error) {
	cmds := []string{"HubList", "BridgeList", "IPsecGet", "ProtoOptionsGet OpenVPN", "PortsUDPGet", "Hub " + hub, "UserList", "StatusGet", "DhcpGet", "SecureNatHostGet"}
	res, err := v.run(ctx, env.Host, password, cmds)
	if err != nil {
		return nil, err
	}
	st := &softState{Hubs: map[string]bool{}, Users: map[string]string{}}
	if sec, ok := res.find("HubList"); ok {
		for i, row := range sec.csvRows() {
			if i > 0 && len(row) > 0 {
				st.Hubs[row[0]] = true
			}
		}
	}
	if sec, ok := res.find("BridgeList"); ok {
		for i, row := range sec.csvRows() {
			if i > 0 && len(row) >= 3 {
				st.Bridges = append(st.Bridges, [2]string{row[1], row[2]})
			}
		}
	}
	if sec, ok := res.find("IPsecGet"); ok {
		st.IPsec = sec.items()
	}
	if sec, ok := res.find("ProtoOptionsGet"); ok {
		for i, row := range sec.csvRows() {
			if i > 0 && len(row) >= 3 && row[0] == "Enabled" {
				st.OpenVPN = strings.EqualFold(row[2], "true")
			}
		}
	}
	if sec, ok := res.find("PortsUDPGet"); ok {
		st.UDPPorts = sec.items()["UDP ports"]
	}
	if !st.Hubs[hub] {
		return st, nil
	}
	if sec, ok := res.find("UserList"); ok && sec.Code == 0 {
		for i, row := range sec.csvRows() {
			if i > 0 && len(row) >= 4 {
				st.Users[row[0]] = row[3]
			}
		}
	}
	if sec, ok := res.find("StatusGet"); ok {
		st.SecureNAT = sec.items()["SecureNAT"] == "Enabled"
	}
	if sec, ok := res.find("DhcpGet"); ok {
		st.DHCP = sec.items()
	}
	if sec, ok := res.find("SecureNatHostGet"); ok {
		st.NATHost = sec.items()
	}
	return st, nil
}

// secureNATPlan is the SecureNAT addressing: the VPN subnet, SoftEther's
// virtual host at .1, clients from .10 to .200, DNS the LAN's gateway.
type secureNATPlan struct {
	Host, Mask, Start, End, DNS string
}

func secureNATOf(s *site.Site) (secureNATPlan, error) {
	vp, err := vpnNet(s)
	if err != nil {
		return secureNATPlan{}, err
	}
	_, gw, err := lan(s)
	if err != nil {
		return secureNATPlan{}, err
	}
	return secureNATPlan{Host: nth(vp, 1).String(), Mask: netmask(vp), Start: nth(vp, 10).String(), End: nth(vp, 200).String(), DNS: gw.String()}, nil
}

// natDone reports whether the hub reaches the network as wanted.
func natDone(st *softState, o SoftEtherOptions, plan secureNATPlan) bool {
	bridged := false
	for _, b := range st.Bridges {
		if b[0] == o.Hub && (b[1] == o.BridgeDevice || (o.BridgeTap && strings.HasPrefix(b[1], o.BridgeDevice))) {
			bridged = true
		}
	}
	if o.Mode == ModeBridge {
		return bridged && !st.SecureNAT
	}
	return st.SecureNAT && !bridged &&
		st.NATHost["IP Address"] == plan.Host && st.NATHost["Subnet Mask"] == plan.Mask &&
		st.DHCP["Start Distribution Address Band"] == plan.Start && st.DHCP["End Distribution Address Band"] == plan.End &&
		st.DHCP["Default Gateway Address"] == plan.Host && st.DHCP["DNS Server Address 1"] == plan.DNS
}

// natCommands switches the hub to the wanted mode.
func natCommands(st *softState, o SoftEtherOptions, plan secureNATPlan) []string {
	var cmds []string
	for _, b := range st.Bridges {
		if b[0] == o.Hub {
			cmds = append(cmds, fmt.Sprintf("BridgeDelete %s /DEVICE:%s", o.Hub, b[1]))
		}
	}
	cmds = append(cmds, "Hub "+o.Hub)
	if o.Mode == ModeBridge {
		if st.SecureNAT {
			cmds = append(cmds, "SecureNatDisable")
		}
		tap := "no"
		if o.BridgeTap {
			tap = "yes"
		}
		return append(cmds, fmt.Sprintf("BridgeCreate %s /DEVICE:%s /TAP:%s", o.Hub, o.BridgeDevice, tap))
	}
	return append(cmds,
		fmt.Sprintf("SecureNatHostSet /MAC:none /IP:%s /MASK:%s", plan.Host, plan.Mask),
		fmt.Sprintf("DhcpSet /START:%s /END:%s /MASK:%s /EXPIRE:7200 /GW:%s /DNS:%s /DNS2:none /DOMAIN:none /LOG:yes", plan.Start, plan.End, plan.Mask, plan.Host, plan.DNS),
		"SecureNatEnable")
}

// wantUsers maps each site VPN user to the marker of its password.
func wantUsers(env *engine.Env, s *site.Site) (map[string]string, map[string]string, error) {
	markers, passwords := map[string]string{}, map[string]string{}
	if s.Network == nil {
		return markers, passwords, nil
	}
	for _, u := range s.Network.VPNUsers {
		pw, err := env.Secrets.Password(VPNUserSecretPrefix+u, 20)
		if err != nil {
			return nil, nil, fmt.Errorf("generate the VPN password of %s: %w", u, err)
		}
		markers[u], passwords[u] = userMarker(u, pw), pw
	}
	return markers, passwords, nil
}

// userCommands creates, updates and removes users; only users that
// carry collabstack's marker are ever removed.
func userCommands(st *softState, hub string, markers, passwords map[string]string) ([]string, error) {
	cmds := []string{"Hub " + hub}
	names := make([]string, 0, len(markers))
	for u := range markers {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		have, exists := st.Users[u]
		if exists && have == markers[u] {
			continue
		}
		pw, err := vpnArg(passwords[u])
		if err != nil {
			return nil, fmt.Errorf("VPN password of %s: %w", u, err)
		}
		if !exists {
			cmds = append(cmds, fmt.Sprintf("UserCreate %s /GROUP:none /REALNAME:none /NOTE:%s", u, markers[u]))
		} else {
			cmds = append(cmds, fmt.Sprintf("UserSet %s /GROUP:none /REALNAME:none /NOTE:%s", u, markers[u]))
		}
		cmds = append(cmds, fmt.Sprintf("UserPasswordSet %s /PASSWORD:%s", u, pw))
	}
	var stale []string
	for u, note := range st.Users {
		if _, ok := markers[u]; !ok && strings.HasPrefix(note, "collabstack:") {
			stale = append(stale, u)
		}
	}
	sort.Strings(stale)
	for _, u := range stale {
		cmds = append(cmds, "UserDelete "+u)
	}
	return cmds, nil
}

func usersDone(st *softState, markers map[string]string) bool {
	for u, m := range markers {
		if st.Users[u] != m {
			return false
		}
	}
	for u, note := range st.Users {
		if _, ok := markers[u]; !ok && strings.HasPrefix(note, "collabstack:") {
			return false
		}
	}
	return true
}

func protocolsDone(st *softState, o SoftEtherOptions, psk string) bool {
	wantL2TP := "Yes"
	if o.NoL2TP {
		wantL2TP = "No"
	}
	if st.IPsec["L2TP over IPsec Server Function Enabled"] != wantL2TP {
		return false
	}
	if !o.NoL2TP && (st.IPsec["IPsec Pre-Shared Key String"] != psk || st.IPsec["Name of Default Virtual Hub"] != o.Hub ||
		st.IPsec["Raw L2TP Server Function Enabled"] != "No" || st.IPsec["EtherIP / L2TPv3 over IPsec Server Function Enabled"] != "No") {
		return false
	}
	if st.OpenVPN == o.NoOpenVPN {
		return false
	}
	if !o.NoOpenVPN && !hasPort(st.UDPPorts, "1194") {
		return false
	}
	return true
}

func hasPort(list, port string) bool {
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == port {
			return true
		}
	}
	return false
}

func protocolCommands(st *softState, o SoftEtherOptions, psk string) ([]string, error) {
	var cmds []string
	if o.NoL2TP {
		cmds = append(cmds, fmt.Sprintf("IPsecEnable /L2TP:no /L2TPRAW:no /ETHERIP:no /PSK:%s /DEFAULTHUB:%s", "vpn", o.Hub))
	} else {
		p, err := vpnArg(psk)
		if err != nil {
			return nil, fmt.Errorf("IPsec pre-shared key: %w", err)
		}
		cmds = append(cmds, fmt.Sprintf("IPsecEnable /L2TP:yes /L2TPRAW:no /ETHERIP:no /PSK:%s /DEFAULTHUB:%s", p, o.Hub))
	}
	enabled := "true"
	if o.NoOpenVPN {
		enabled = "false"
	}
	cmds = append(cmds, "ProtoOptionsSet OpenVPN /NAME:Enabled /VALUE:"+enabled)
	if !o.NoOpenVPN && !hasPort(st.UDPPorts, "1194") {
		ports := []string{"1194"}
		for _, p := range strings.Split(st.UDPPorts, ",") {
			if p = strings.TrimSpace(p); p != "" && p != "1194" {
				ports = append(ports, p)
			}
		}
		cmds = append(cmds, "PortsUDPSet "+strings.Join(ports, ","))
	}
	return cmds, nil
}

// adminState says whether the server's admin password is ours: it
// is when vpncmd asked for a password and took ours; a fresh server
// has none and vpncmd does not ask.
func (v vpncmd) adminIsOurs(ctx context.Context, env *engine.Env, password string) (bool, error) {
	res, err := v.run(ctx, env.Host, password, []string{"ServerInfoGet"})
	if errors.Is(err, errDenied) {
		return false, engine.WithHint(fmt.Errorf("%s: %w", env.Host.Name(), err),
			"this SoftEther server already has an admin password: store it with `collabstack secret set %s` and run again", SoftEtherAdminSecret)
	}
	if err != nil {
		return false, err
	}
	return res.Prompted, nil
}
