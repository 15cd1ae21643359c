package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/testlab"
)

// TestLavacliRealRun: a job really runs (lava-server with its scheduler on
// SQLite, lava-worker, the `local` device): lavacli submits it, follows its
// log live with `jobs logs` and waits for it with `jobs wait` while the
// worker streams records, then reads its results. No store is shared with
// the test: everything goes through the processes.
func TestLavacliRealRun(t *testing.T) {
	lavacli := testenv.NeedTool(t, "lavacli")
	if testing.Short() {
		t.Skip("real lava-server and lava-worker processes: not in -short")
	}
	lb := testlab.Start(t, testlab.Options{Bins: bins})
	l := &lab{t: t, home: t.TempDir(), lavacli: lavacli, url: lb.URL}
	host := strings.TrimPrefix(lb.URL, "http://")
	l.writeConfig(fmt.Sprintf("default:\n  uri: http://%s/RPC2\n  username: admin\n  token: %s\n", host, lb.AdminToken))
	const ticks = 6
	def := writeFile(t, t.TempDir(), "local.yaml", testlab.LocalJob("lavacli real run", ticks))
	out := l.expect(0, nil, "jobs", "submit", def)
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("jobs submit printed %q, want a job id", out)
	}
	ids := fmt.Sprint(id)
	lb.WaitJob(id, "Running", 2*time.Minute)

	// Follow the running job's log and wait for its end, as users do.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	follow, fout := l.start(t, ctx, "jobs", "logs", "--polling", "1", ids)
	wait, wout := l.start(t, ctx, "jobs", "wait", "--polling", "1", ids)
	if err := follow.Wait(); err != nil {
		t.Errorf("lavacli jobs logs: %v\n%s", err, fout.String())
	}
	if err := wait.Wait(); err != nil {
		t.Errorf("lavacli jobs wait: %v\n%s", err, wout.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("lavacli did not see job %d end within 4 minutes", id)
	}
	j := lb.Job(id)
	if j.State != "Finished" || j.Health != "Complete" {
		t.Fatalf("job %d ended %+v, want Finished/Complete", id, j)
	}
	// Every record once, in order, from the worker's shell to the results.
	flog := fout.String()
	wants := []string{"lava-dispatcher, job id " + ids, "start: 1 minimal-boot"}
	for i := 1; i <= ticks; i++ {
		wants = append(wants, fmt.Sprintf("tick %d of %d", i, ticks))
	}
	wants = append(wants, "'case': 'tick'", "'case': 'speed'", "'case': 'broken'", "'result': 'fail'")
	rest := flog
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("jobs logs output lacks %q (in order):\n%s", w, flog)
		}
		rest = rest[i+len(w):]
	}
	// The shell's echo of the command and its output: each record once.
	if n := strings.Count(flog, fmt.Sprintf(" tick 1 of %d", ticks)); n != 2 {
		t.Errorf("tick 1 printed %d times, want 2 (the command and its output):\n%s", n, flog)
	}
	if !strings.HasPrefix(wout.String(), "Running") {
		t.Errorf("jobs wait printed %q, want the Running state first", wout.String())
	}

	l.expect(0, []string{"id          : " + ids, "device      : " + testlab.Device, "state       : Finished", "Health      : Complete"}, "jobs", "show", ids)
	l.expect(0, []string{`- {"dt": "`, `"lvl": "`}, "jobs", "logs", "--raw", "--no-follow", "--end", "3", ids)
	l.expect(0, []string{"Results:", "* 0_smoke.tick [pass]", "* 0_smoke.uname [pass]", "* 0_smoke.speed [pass]", "* 0_smoke.broken [fail]"}, "results", ids)
	l.expect(0, []string{"name: tick", "suite: 0_smoke", "name: speed", "unit: MB/s", "name: broken", "result: fail", "suite: lava"}, "results", ids, "--yaml")
	l.expect(0, []string{"Results:", "* 0_smoke.speed [pass]"}, "results", ids, "0_smoke")
	l.expect(0, []string{"name: uname", "name: speed"}, "results", ids, "0_smoke", "--yaml")
	// The configuration lavacli saves of a job that ran: its definition.
	cfgDir := filepath.Join(t.TempDir(), "config")
	l.expect(0, nil, "jobs", "config", ids, "--dest", cfgDir)
	if got, err := os.ReadFile(filepath.Join(cfgDir, "definition.yaml")); err != nil || !strings.Contains(string(got), "lavacli real run") {
		t.Errorf("jobs config: definition.yaml %q, %v", got, err)
	}
	l.expect(0, []string{"measurement: '8.5000000000'", "unit: MB/s"}, "results", ids, "0_smoke", "speed", "--yaml")
	l.expect(0, []string{"* " + ids + ": Finished,Complete [admin] (lavacli real run) - local"}, "jobs", "list")

	// REST v0.2 serves the same output.yaml lines.
	resp, err := http.Get(fmt.Sprintf("%s/api/v0.2/jobs/%d/logs/?start=0&end=2", lb.URL, id))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `- {"dt": "`) || strings.Count(string(body), "\n") != 2 {
		t.Errorf("GET /api/v0.2/jobs/%d/logs/?start=0&end=2: %d\n%s", id, resp.StatusCode, body)
	}
}
