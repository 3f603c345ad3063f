package swarm

import (
	"strings"
	"testing"
)

// nodesOut is what `docker node inspect --format pinFormat` prints for a
// swarm of a manager (infra) and two workers with the label common, one
// of which already holds a pin.
const nodesOut = `m1	lab-1	manager	ready	active	{"role":"infra"}
w2	lab-2	worker	ready	active	{"collabstack.app.penpot":"1","role":"common"}
w3	lab-3	worker	ready	active	{"role":"common"}
`

func TestParseNodes(t *testing.T) {
	nodes, err := parseNodes(nodesOut + "w4\tlab-4\tworker\tdown\tactive\tnull\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 4 || nodes[1].Labels["collabstack.app.penpot"] != "1" || nodes[3].State != "down" || len(nodes[3].Labels) != 0 {
		t.Fatalf("%+v", nodes)
	}
	if _, err := parseNodes("m1\tlab-1\n"); err == nil {
		t.Error("a short line is accepted")
	}
}

func TestPinChoosesOneFittingNodeAndKeepsIt(t *testing.T) {
	nodes, _ := parseNodes(nodesOut)
	p := Pin{Group: "nextcloud", LabelKey: "role", LabelValue: "common", Volumes: []string{"nextcloud_html"}}
	if n, err := p.pinned(nodes); err != nil || n.ID != "" {
		t.Fatalf("no pin yet: %+v %v", n, err)
	}
	// A fresh app goes to the fitting node with the fewest pins.
	n, why, err := p.choose(nodes, nil, nil)
	if err != nil || n.Hostname != "lab-3" {
		t.Fatalf("chose %s (%s) %v, want lab-3", n.Hostname, why, err)
	}
	// An app deployed before pins stays where its tasks run...
	if n, _, _ := p.choose(nodes, []string{"lab-2"}, nil); n.Hostname != "lab-2" {
		t.Errorf("running on lab-2, chose %s", n.Hostname)
	}
	// ...or where its volumes are.
	if n, _, _ := p.choose(nodes, nil, func(n node) bool { return n.Hostname == "lab-2" }); n.Hostname != "lab-2" {
		t.Errorf("volumes on lab-2, chose %s", n.Hostname)
	}
	// A task on a node that does not fit (the manager) does not count.
	if n, _, _ := p.choose(nodes, []string{"lab-1"}, nil); n.Hostname != "lab-3" {
		t.Errorf("running on lab-1 (infra), chose %s", n.Hostname)
	}
	// Once labelled, a node added later changes nothing.
	nodes[2].Labels[PinLabel("nextcloud")] = "1"
	nodes = append(nodes, node{ID: "w5", Hostname: "lab-0", Role: "worker", State: "ready", Availability: "active", Labels: map[string]string{"role": "common"}})
	if n, err := p.pinned(nodes); err != nil || n.Hostname != "lab-3" {
		t.Fatalf("pinned %+v %v", n, err)
	}
}

func TestPinRefusesWhatWouldMoveOrSplitData(t *testing.T) {
	nodes, _ := parseNodes(nodesOut)
	p := Pin{Group: "penpot", LabelKey: "role", LabelValue: "infra", Volumes: []string{"penpot_assets"}}
	// Its node no longer fits the app's placement: moving is the user's call.
	if _, err := p.pinned(nodes); err == nil || !strings.Contains(err.Error(), "lab-2") {
		t.Errorf("placement changed: %v", err)
	}
	// Two nodes labelled.
	nodes[2].Labels[PinLabel("penpot")] = "1"
	p.LabelValue = "common"
	if _, err := p.pinned(nodes); err == nil || !strings.Contains(err.Error(), "2 nodes") {
		t.Errorf("two pins: %v", err)
	}
	// Ports on the edge's node: only a manager fits.
	q := Pin{Group: "coturn", LabelKey: "role", LabelValue: "infra", Manager: true}
	if n, _, err := q.choose(nodes, nil, nil); err != nil || n.Hostname != "lab-1" {
		t.Errorf("coturn on %s: %v", n.Hostname, err)
	}
	q.LabelValue = "common"
	if _, _, err := q.choose(nodes, nil, nil); err == nil || !strings.Contains(err.Error(), "no swarm node") {
		t.Errorf("no manager labelled common: %v", err)
	}
	// A node that is down or drained is not chosen.
	nodes[2].Availability = "drain"
	r := Pin{Group: "pixelfed", LabelKey: "role", LabelValue: "common"}
	if n, _, _ := r.choose(nodes, nil, nil); n.Hostname != "lab-2" {
		t.Errorf("chose %s, lab-3 is drained", n.Hostname)
	}
	if c := PinConstraint("kurento"); c != "node.labels.collabstack.app.kurento == 1" {
		t.Error(c)
	}
}
