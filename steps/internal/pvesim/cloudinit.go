package pvesim

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CloudInit is what PVE's NoCloud cloud-init drive would tell the guest,
// derived from the VM config as qemu-server's Cloudinit.pm does.
type CloudInit struct {
	// Hostname is the VM's name.
	Hostname string
	// User is ciuser ("" keeps the image's default user); it gets sudo
	// without a password (the image's default user does on Debian).
	User string
	// Keys are the SSH keys of sshkeys, decoded.
	Keys []string
	// Interfaces has one entry per NIC with an ipconfig, by index.
	Interfaces []Interface
	// Nameservers and SearchDomains.
	Nameservers, SearchDomains []string
	// Custom is cicustom (snippet volumes).
	Custom string
	// HostKeys are the SSH host keys of the user data's ssh_keys
	// (cloud-init's cc_ssh: ed25519_private, ed25519_public, ...), with
	// DeleteKeys its ssh_deletekeys (cc_ssh's default: true).
	HostKeys   map[string]string
	DeleteKeys bool
}

// userData is what the simulator reads of a custom user data snippet:
// the keys cloud-init's cc_ssh and the default user read.
type userData struct {
	Hostname       string            `yaml:"hostname"`
	User           string            `yaml:"user"`
	AuthorizedKeys []string          `yaml:"ssh_authorized_keys"`
	DeleteKeys     *bool             `yaml:"ssh_deletekeys"`
	HostKeys       map[string]string `yaml:"ssh_keys"`
}

// Interface is one NIC's network configuration.
type Interface struct {
	Index   int    // N of netN, ethN in the guest
	MAC     string // lower case
	Bridge  string
	Address netip.Prefix // invalid for DHCP
	DHCP    bool
	Gateway string
}

// CloudInit returns the VM's cloud-init data; an error when the VM has no
// cloud-init drive.
func (v VM) CloudInit() (CloudInit, error) {
	ci := CloudInit{Hostname: v.Name, User: v.Config["ciuser"], Custom: v.Config["cicustom"]}
	drive := false
	for k, val := range v.Config {
		drive = drive || (isDrive(k) && strings.Contains(val, "cloudinit"))
	}
	if !drive {
		return ci, fmt.Errorf("VM %d (%s) has no cloud-init drive", v.ID, v.Name)
	}
	for _, line := range strings.Split(unescape(v.Config["sshkeys"]), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			ci.Keys = append(ci.Keys, line)
		}
	}
	var idx []int
	for k := range v.Config {
		if n, ok := strings.CutPrefix(k, "net"); ok {
			if i, err := strconv.Atoi(n); err == nil {
				idx = append(idx, i)
			}
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		ipc := v.Config[fmt.Sprintf("ipconfig%d", i)]
		if ipc == "" {
			continue
		}
		c, msg := parseIPConfig(ipc)
		if msg != "" {
			return ci, fmt.Errorf("ipconfig%d: %s", i, msg)
		}
		iface := Interface{Index: i, Gateway: c.GW}
		for _, part := range strings.Split(v.Config[fmt.Sprintf("net%d", i)], ",") {
			k, val, _ := strings.Cut(part, "=")
			switch {
			case k == "bridge":
				iface.Bridge = val
			case strings.Count(val, ":") == 5:
				iface.MAC = strings.ToLower(val)
			}
		}
		switch c.IP {
		case "", "dhcp":
			iface.DHCP = true
		case "manual":
		default:
			iface.Address, _ = netip.ParsePrefix(c.IP)
		}
		ci.Interfaces = append(ci.Interfaces, iface)
	}
	ci.Nameservers = splitList(v.Config["nameserver"])
	ci.SearchDomains = splitList(v.Config["searchdomain"])
	ci.DeleteKeys = true
	if v.UserData != nil {
		// A custom user data snippet replaces what PVE would generate
		// from ciuser and sshkeys (qemu-server's Cloudinit.pm,
		// get_custom_cloudinit_files).
		if !strings.HasPrefix(string(v.UserData), "#cloud-config\n") {
			return ci, fmt.Errorf("VM %d (%s): its user data is not #cloud-config", v.ID, v.Name)
		}
		var u userData
		if err := yaml.Unmarshal(v.UserData, &u); err != nil {
			return ci, fmt.Errorf("VM %d (%s): user data: %w", v.ID, v.Name, err)
		}
		ci.User, ci.Keys, ci.HostKeys = u.User, u.AuthorizedKeys, u.HostKeys
		if u.Hostname != "" {
			ci.Hostname = u.Hostname
		}
		if u.DeleteKeys != nil {
			ci.DeleteKeys = *u.DeleteKeys
		}
	}
	return ci, nil
}
