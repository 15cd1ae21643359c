package dispatch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// TestContainerArgv: the engine's command lines, exactly as LAVA's
// DockerRun builds them.
func TestContainerArgv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params string
		edit   func(c *containerRun)
		want   []string
		pull   []string
		err    string
	}{
		{
			name:   "image only",
			params: "docker: {image: 'debian:bookworm'}",
			want:   []string{"podman", "run", "--rm", "--init", "debian:bookworm", "sh", "-c", "true"},
			pull:   []string{"podman", "pull", "debian:bookworm"},
		},
		{
			name:   "local image, name, network, devices, mounts, env, options",
			params: "docker: {image: 'lab/adb:1', local: true, container_name: adb, network_from: net}",
			edit: func(c *containerRun) {
				c.GlobalOptions = []string{"--log-level=warn"}
				c.RunOptions = []string{"--cap-add=NET_ADMIN"}
				c.Interactive, c.TTY = true, true
				c.Devices = []string{"/dev/ttyUSB0"}
				c.Mounts = []containerMount{{Source: "/w/jobs/7/docker-3/lava-7", Destination: "/lava-7"}, {Source: "/srv/x", Destination: "/x", ReadOnly: true}}
				c.Env = [][2]string{{"LAVA_BOARD_ID", "0123ABC"}}
			},
			want: []string{"podman", "--log-level=warn", "run", "--cap-add=NET_ADMIN", "--interactive", "--tty", "--rm", "--init",
				"--name=adb-lava-7", "--network=container:net-lava-7", "--device=/dev/ttyUSB0",
				"--mount=type=bind,source=/w/jobs/7/docker-3/lava-7,destination=/lava-7",
				"--mount=type=bind,source=/srv/x,destination=/x,readonly=true",
				"--env=LAVA_BOARD_ID=0123ABC", "lab/adb:1", "sh", "-c", "true"},
			pull: []string{"podman", "image", "inspect", "--format=Image lab/adb:1 exists locally", "lab/adb:1"},
		},
		{name: "no image", params: "docker: {local: true}", err: "`image` is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := yamlAny(t, tc.params).(map[string]any)
			c, local, err := containerFromParams(sdk.Values(p), "7")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.Engine = "podman"
			if tc.edit != nil {
				tc.edit(c)
			}
			if got := c.argv("sh", "-c", "true"); !slices.Equal(got, tc.want) {
				t.Errorf("argv\n got %q\nwant %q", got, tc.want)
			}
			if got := c.prepareArgv(local); !slices.Equal(got, tc.pull) {
				t.Errorf("prepare\n got %q\nwant %q", got, tc.pull)
			}
		})
	}
}

// TestContainerDevicesAndEnv: the board's USB serial nodes (by board_id
// under /dev/serial/by-id) and LAVA's environment of the board.
func TestContainerDevicesAndEnv(t *testing.T) {
	dir := t.TempDir()
	byID := filepath.Join(dir, "by-id")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(byID, 0o755))
	for _, n := range []string{"ttyUSB0", "ttyUSB1", "ttyACM0"} {
		must(os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	must(os.Symlink("../ttyUSB0", filepath.Join(byID, "usb-FTDI_Dual_RS232_0123ABC-if00-port0")))
	must(os.Symlink("../ttyUSB1", filepath.Join(byID, "usb-FTDI_Dual_RS232_0123ABC-if01-port0")))
	must(os.Symlink("../ttyACM0", filepath.Join(byID, "usb-Other_board_999-if00")))
	info := []any{map[string]any{"board_id": "0123ABC"}}
	got := usbDevices(info, byID)
	want := []string{filepath.Join(dir, "ttyUSB0"), filepath.Join(dir, "ttyUSB1")}
	if !slices.Equal(got, want) {
		t.Errorf("devices %q, want %q", got, want)
	}
	if got := usbDevices(nil, byID); got != nil {
		t.Errorf("no device_info: %q", got)
	}
	env := containerEnv(sdk.Values{"device_info": info, "connection_command": "telnet ser2net 7001",
		"power_on_command": []any{"pdu on 3", "sleep 1"}, "power_off_command": "pdu off 3"})
	wantEnv := [][2]string{{"ANDROID_SERIAL", "0123ABC"}, {"LAVA_BOARD_ID", "0123ABC"}, {"LAVA_CONNECTION_COMMAND", "telnet ser2net 7001"},
		{"LAVA_POWER_ON_COMMAND", "pdu on 3 && sleep 1"}, {"LAVA_POWER_OFF_COMMAND", "pdu off 3"}}
	if !slices.Equal(env, wantEnv) {
		t.Errorf("env %q, want %q", env, wantEnv)
	}
}

// TestRunDockerTest runs a docker test action's definitions in a real
// container (podman) from a busybox image imported from a local tarball
// (testenv.NeedContainerEngine: skipped with the reason where no engine can
// run a container, failed with CI=true).
func TestRunDockerTest(t *testing.T) {
	e := testenv.NeedContainerEngine(t)
	for _, kv := range e.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	engine, image := e.Name, e.Image
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: engine, Path: e.Path, DeviceTypes: []string{"local"}}))
	def := jobWith("", `- test:
    docker:
      image: `+image+`
      local: true
    definitions:
    - from: inline
      name: in-container
      path: inline/c.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: in-container}
        run:
          steps:
          - lava-test-case in-container --shell test -x /bin/busybox
          - lava-test-case job-id --shell test "$LAVA_JOB_ID" = 4242
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, ""), rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{"0_in-container/in-container": "pass", "0_in-container/job-id": "pass"})
}

// TestDockerTestTimeout: a docker test action whose test hangs ends at its
// timeout, and its container is removed (the engine's client is not the
// container: killing it would leave the test running in the engine).
func TestDockerTestTimeout(t *testing.T) {
	e := testenv.NeedContainerEngine(t)
	for _, kv := range e.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: e.Name, Path: e.Path, DeviceTypes: []string{"local"}}))
	def := jobWith("", `- test:
    timeout: {seconds: 4}
    docker:
      image: `+e.Image+`
      local: true
      container_name: hung
    definitions:
    - from: inline
      name: hung
      path: inline/h.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: hung}
        run:
          steps:
          - sleep 600
`)
	rec := &recorder{}
	start := time.Now()
	out := runJob(t, d, def, localDict(t, ""), rec)
	if out.Health != model.JobIncomplete || !strings.Contains(out.Error, "timed out") {
		t.Fatalf("job %s: %s, want Incomplete on the test's timeout\n%s", out.Health, out.Error, rec.text())
	}
	t.Logf("ended after %s", time.Since(start).Round(100*time.Millisecond))
	ps, err := e.Command("ps", "--all", "--format", "{{.Names}}").CombinedOutput()
	if err != nil {
		t.Fatalf("podman ps: %v\n%s", err, ps)
	}
	if slices.Contains(strings.Fields(string(ps)), "hung-lava-4242") {
		t.Errorf("container hung-lava-4242 is left after the job: %s", ps)
		_ = e.Command("rm", "--force", "--time", "0", "hung-lava-4242").Run()
	}
}

// TestConsoleContainer: the container a console tool runs is found in the
// engine's run line (either --name form, global options kept), and no
// container in another tool's or another engine command's line.
func TestConsoleContainer(t *testing.T) {
	for _, tc := range []struct {
		name string
		tool *sandbox.Tool
		want *containerRun
	}{
		{"podman run --name N", &sandbox.Tool{Name: "podman", Path: "/usr/bin/podman", Args: []string{"--root", "/r", "run", "--rm", "--name", "lava-7-2", "img", "sh"}},
			&containerRun{Engine: "/usr/bin/podman", GlobalOptions: []string{"--root", "/r"}, Name: "lava-7-2"}},
		{"docker run --name=N", &sandbox.Tool{Name: "docker", Path: "/usr/bin/docker", Args: []string{"run", "--name=lava-8-2", "img"}},
			&containerRun{Engine: "/usr/bin/docker", GlobalOptions: []string{}, Name: "lava-8-2"}},
		{"no name", &sandbox.Tool{Name: "podman", Path: "p", Args: []string{"run", "img"}}, nil},
		{"not run", &sandbox.Tool{Name: "podman", Path: "p", Args: []string{"exec", "--name", "x"}}, nil},
		{"another tool", &sandbox.Tool{Name: "qemu-system-aarch64", Path: "q", Args: []string{"run", "--name", "x"}}, nil},
		{"no tool", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := consoleContainer(tc.tool)
			if (got == nil) != (tc.want == nil) || got != nil && (got.Engine != tc.want.Engine || got.Name != tc.want.Name || !slices.Equal(got.GlobalOptions, tc.want.GlobalOptions)) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
