package standby

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/assets/standins"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/script"
)

// mainDB is kopnik's database service as the kopnik stack declares it
// (templates/kopnik/stack.yaml.tmpl: user, database, password file,
// volume, attachable network), without the rest of the stack.
const mainDB = `version: "3.8"
services:
  db:
    image: %s
    command: [postgres, -c, max_connections=1000]
    environment: {POSTGRES_USER: kopnik, POSTGRES_DB: kopnik, POSTGRES_PASSWORD_FILE: /run/secrets/kopnik_db_password}
    secrets: [kopnik_db_password]
    volumes: [{type: volume, source: db-data, target: /var/lib/postgresql/data}]
    networks: [kopnik]
    deploy: {endpoint_mode: dnsrr, placement: {constraints: ["node.labels.role == infra"]}}
networks:
  kopnik: {driver: overlay, attachable: true}
volumes:
  db-data:
secrets:
  kopnik_db_password: {external: true}
`

// TestFailoverDrillOnTwoLabNodes runs the standby's scripts for real on a
// two-node swarm: the main node runs kopnik's database service, the
// standby node the replica stack; pg_stat_replication shows it streaming;
// with writes running, the main node is stopped (docker stop: the whole
// host goes), the standby is promoted and leaves the old swarm, and the
// promoted data starts as kopnik's database would. RPO (rows written but
// lost) and RTO (stop to first answer of the promoted database) are
// printed, not asserted. It does not run the failover command's apply of
// the whole kopnik stack (the kopnik end-to-end test covers that stack).
func TestFailoverDrillOnTwoLabNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	t.Parallel()
	l := labtest.Start(t, 2, lab.ImageDocker)
	ctx := context.Background()
	image := kopnik.Images["postgres"]
	imgs, err := standins.Build(ctx, standins.Options{Out: func(s string) { t.Log(s) }}, image)
	if err != nil {
		t.Fatal(err)
	}
	if err := standins.Load(ctx, standins.Options{}, []string{l.Nodes[0].Container, l.Nodes[1].Container}, imgs); err != nil {
		t.Fatal(err)
	}
	main, sb := l.Dial(t, 0), l.Dial(t, 1)
	run := func(h host.Host, cmd string, stdin string) string {
		t.Helper()
		out, err := h.Run(ctx, cmd, host.RunOpts{Sudo: true, Stdin: []byte(stdin)})
		if err != nil {
			t.Fatalf("%s: %s: %v", h.Name(), cmd, err)
		}
		return strings.TrimSpace(out)
	}
	eventually := func(h host.Host, cmd, want string) string {
		t.Helper()
		var out string
		for i := 0; i < 120; i++ {
			out, _ = h.Run(ctx, cmd+" 2>&1 || true", host.RunOpts{Sudo: true})
			if strings.Contains(out, want) {
				return out
			}
			time.Sleep(time.Second)
		}
		t.Fatalf("%s: %s: want %q, last: %s", h.Name(), cmd, want, out)
		return ""
	}
	run(main, "docker swarm init --advertise-addr "+l.Nodes[0].Address+" >/dev/null", "")
	token := run(main, "docker swarm join-token -q worker", "")
	run(sb, `sh -c 'IFS= read -r t; docker swarm join --token "$t" "$1"' j `+l.Nodes[0].Address+":2377", token+"\n")
	run(main, "docker node update --label-add role=infra "+l.Nodes[0].Name+" && docker node update --label-add role=standby "+l.Nodes[1].Name, "")
	run(main, "printf %s db-password-for-the-drill | docker secret create kopnik_db_password - && printf %s repl-password-for-the-drill | docker secret create kopnik_replication_password -", "")
	if err := main.Upload(ctx, "/root/kopnik/stack.yaml", []byte(fmt.Sprintf(mainDB, image)), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	run(main, "cd /root/kopnik && docker stack deploy -c stack.yaml kopnik >/dev/null", "")
	psqlMain := "docker exec $(docker ps -q -f label=com.docker.swarm.service.name=kopnik_db | head -n1) psql -qtA -U kopnik -d kopnik -c "
	eventually(main, psqlMain+"'SELECT 1'", "1")

	// The main database accepts the standby; a second check finds it done.
	primary, err := script.Render("standby/primary.sh", map[string]any{"User": ReplicationUser, "Slot": Slot})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := main.Run(ctx, primary, host.RunOpts{Sudo: true, Stdin: []byte("repl-password-for-the-drill\n"), Env: map[string]string{"MODE": "apply"}}); err != nil {
		t.Fatalf("primary.sh: %v", err)
	}
	if _, err := main.Run(ctx, primary, host.RunOpts{Sudo: true, Stdin: []byte("repl-password-for-the-drill\n"), Env: map[string]string{"MODE": "check"}}); err != nil {
		t.Errorf("primary.sh check after apply: %v", err)
	}
	st, err := Render(image, "kopnik_replication_password")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range st.Files {
		if err := main.Upload(ctx, "/root/standby/"+name, data, 0o600, ""); err != nil {
			t.Fatal(err)
		}
	}
	run(main, "cd /root/standby && docker stack deploy -c stack.yaml "+Stack+" >/dev/null", "")
	var repl string
	for i := 0; i < 180 && !strings.Contains(repl, "streaming"); i++ {
		repl, _ = Replication(ctx, main)
		time.Sleep(time.Second)
	}
	if !strings.Contains(repl, "streaming") {
		logs, _ := main.Run(ctx, "docker service logs --tail 30 "+replicaService+" 2>&1", host.RunOpts{Sudo: true})
		t.Fatalf("the standby does not stream: %q\n%s", repl, logs)
	}
	t.Logf("pg_stat_replication: %s", repl)

	// Writes every 100 ms; the main node goes away in the middle.
	run(main, psqlMain+"'CREATE TABLE drill (id serial primary key, at timestamptz default now())'", "")
	run(main, "nohup sh -c 'while :; do "+strings.ReplaceAll(psqlMain, "'", "'\"'\"'")+"\"INSERT INTO drill DEFAULT VALUES\" >/dev/null; sleep 0.1; done' >/dev/null 2>&1 &", "")
	time.Sleep(5 * time.Second)
	written := run(main, psqlMain+"'SELECT count(*) FROM drill'", "")
	stopped := time.Now()
	if out, err := host.NewLocal("local").Run(ctx, "docker stop -t 1 "+l.Nodes[0].Container, host.RunOpts{}); err != nil {
		t.Fatalf("stop the main node: %v %s", err, out)
	}
	if err := Promote(ctx, sb, func(s string) { t.Log(s) }); err != nil {
		t.Fatalf("promote: %v", err)
	}
	if state := run(sb, "docker info --format '{{.Swarm.LocalNodeState}}'", ""); state != "inactive" {
		t.Errorf("the standby is still in the old swarm: %s", state)
	}
	// The promoted data starts as kopnik's database would start on it.
	run(sb, "docker run -d --name promoted -e POSTGRES_PASSWORD=unused -v kopnik_db-data:/var/lib/postgresql/data "+image+" postgres -c max_connections=1000 >/dev/null", "")
	psqlSB := "docker exec promoted psql -qtA -U kopnik -d kopnik -c "
	eventually(sb, psqlSB+"'SELECT pg_is_in_recovery()'", "f")
	rto := time.Since(stopped)
	kept := run(sb, psqlSB+"'SELECT count(*) FROM drill'", "")
	var nWritten, nKept int
	fmt.Sscan(written, &nWritten)
	fmt.Sscan(kept, &nKept)
	if nKept < nWritten {
		t.Errorf("the promoted standby has %d rows, fewer than the %d written 5 s before the main node stopped", nKept, nWritten)
	}
	run(sb, psqlSB+"'INSERT INTO drill DEFAULT VALUES'", "")
	lastAt := run(sb, psqlSB+`'SELECT extract(epoch from (max(at) FILTER (WHERE id < (SELECT max(id) FROM drill))))::bigint FROM drill'`, "")
	var last int64
	fmt.Sscan(lastAt, &last)
	rpo := stopped.Sub(time.Unix(last, 0)).Round(100 * time.Millisecond)
	fmt.Printf("BENCHMARK failover drill: RPO %s of writes (last replicated write before the stop; rows %d kept, %d counted 5 s earlier), RTO %s (main node stopped to promoted database answering)\n", rpo, nKept, nWritten, rto.Round(time.Second))
}
