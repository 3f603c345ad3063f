// Package layout holds the names more than one concern must agree on: the
// IDs of steps that other packages' steps come after, the name of this
// machine in every inventory, and where collabstack keeps its files on the
// hosts. It imports nothing of the project, so every package can use it.
package layout

import "path"

// LocalHost is the name of this machine in every inventory.
const LocalHost = "local"

// ReachID is the ID of the step that connects to a host and reads its
// facts; every other step on that host comes after it.
func ReachID(hostName string) string { return "hosts/reach/" + hostName }

// Root is where collabstack keeps its files on a host.
const Root = "/var/lib/collabstack"

// HostPath is a path under Root ("stacks" is /var/lib/collabstack/stacks).
func HostPath(parts ...string) string { return path.Join(append([]string{Root}, parts...)...) }

// Metrics is the folder on every host whose *.prom files node-exporter's
// textfile collector reads (the monitoring component): the backup run
// writes its last result there, so a missed backup raises an alert.
var Metrics = HostPath("metrics")
