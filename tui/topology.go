package tui

import "github.com/collabstack/collabstack/steps/site"

// topologyInfo is what the wizard says about a topology.
type topologyInfo struct {
	Name    string
	Title   string
	Explain string
	Drawing string
	// Roles the topology's hosts may have (as steps/site accepts them),
	// and the ones it needs exactly one of.
	Roles    []string
	Required []string
}

var topologies = []topologyInfo{
	{
		Name:  site.TopologyLab,
		Title: "Lab on this machine",
		Explain: "Containers on this machine that boot like servers (systemd, sshd, dockerd). " +
			"Nothing else is touched: the way to try collabstack.",
		Drawing: `┌ this machine ─────────────────────┐
│  lab-1 (manager)   lab-2 (worker) │
│      └──── docker network ────┘   │
└───────────────────────────────────┘`,
		Roles: []string{site.RoleManager, site.RoleWorker},
	},
	{
		Name:  site.TopologyKopnik,
		Title: "Existing Linux hosts (kopnik)",
		Explain: "Ubuntu 22.04/24.04 or Debian 12 servers you already have: a main server " +
			"(swarm manager), an optional standby and any workers, as kopnik.org runs.",
		Drawing: `  main (manager) ──── standby
       │
       └──── worker …`,
		Roles:    []string{site.RoleManager, site.RoleWorker, site.RoleStandby},
		Required: []string{site.RoleManager},
	},
	{
		Name:  site.TopologySingle,
		Title: "One Proxmox VE box",
		Explain: "One Debian 12 box made into Proxmox VE; the router VMs and the swarm VMs " +
			"all run on it.",
		Drawing: `┌ pve ──────────────────────────────────┐
│ outer-openwrt  vpn-openwrt  softether │
│ swarm-manager  swarm-worker           │
└───────────────────────────────────────┘`,
		Roles:    []string{site.RolePVEServer, site.RoleRouter, site.RoleVPN},
		Required: []string{site.RolePVEServer},
	},
	{
		Name:  site.TopologyFull,
		Title: "Full: router box + server",
		Explain: "Two Debian 12 boxes made into Proxmox VE: a soft-router with the OpenWrt " +
			"and VPN VMs, and a mini-server with the swarm VMs.",
		Drawing: `internet ── router (pve) ── server (pve)
            outer-openwrt   swarm-manager
            vpn-openwrt     swarm-worker
            softether`,
		Roles:    []string{site.RolePVEServer, site.RolePVERouter, site.RoleRouter, site.RoleVPN},
		Required: []string{site.RolePVEServer, site.RolePVERouter},
	},
}

// topologyOf returns the wizard's description of a topology.
func topologyOf(name string) topologyInfo {
	for _, t := range topologies {
		if t.Name == name {
			return t
		}
	}
	return topologyInfo{Name: name, Title: name, Roles: site.Roles}
}

// appRoles are the roles whose hosts run the components, so the budget
// counts their hardware: the swarm nodes, or the Proxmox box that holds
// the swarm VMs.
var appRoles = map[string]bool{site.RoleManager: true, site.RoleWorker: true, site.RolePVEServer: true}

// roleExplain says what a role does, for the host form.
var roleExplain = map[string]string{
	site.RoleManager:   "swarm manager: runs the edge and the infrastructure services",
	site.RoleWorker:    "swarm worker: runs the collaboration apps",
	site.RoleStandby:   "standby server: a copy of the main server to switch to",
	site.RolePVEServer: "Proxmox VE box for the swarm VMs",
	site.RolePVERouter: "Proxmox VE box for the router VMs",
	site.RoleRouter:    "an existing OpenWrt router",
	site.RoleVPN:       "an existing Debian host for SoftEther VPN",
}
