package dispatch

// Issue 21: LAVA's docker test action (test: docker: {image: ...}
// definitions: [...]): the test definitions run in a container from the
// named image on the worker, with the board's USB serial device nodes
// passed in and the board's commands in the environment, as LAVA's
// lava-docker-test does. The container engine is a host tool the worker's
// admin allows for the device (`--allow-tool docker@TYPE` or
// `--allow-tool podman@TYPE`).
//
// Unlike LAVA (an interactive bash over a tty), the container runs
// lava-test-runner directly and its output is read line by line: the
// results are the same records.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/core/testshell"
	"github.com/lavalab/lavalab/sdk"
)

// containerRun is one container run's command line (LAVA's DockerRun).
type containerRun struct {
	Engine string // the engine program: docker or podman
	Image  string
	Name   string
	// Network is network_from: share another container's network.
	Network     string
	Devices     []string
	Mounts      []containerMount
	Env         [][2]string
	Interactive bool
	TTY         bool
	// GlobalOptions go before "run", RunOptions after it (the device
	// dictionary's actions.test.methods.docker global_options/options).
	GlobalOptions, RunOptions []string
}

type containerMount struct {
	Source, Destination string
	ReadOnly            bool
}

// argv is the engine's command line running args in the image.
func (c *containerRun) argv(args ...string) []string {
	cmd := append([]string{c.Engine}, c.GlobalOptions...)
	cmd = append(cmd, "run")
	cmd = append(cmd, c.RunOptions...)
	if c.Interactive {
		cmd = append(cmd, "--interactive")
	}
	if c.TTY {
		cmd = append(cmd, "--tty")
	}
	cmd = append(cmd, "--rm", "--init")
	if c.Name != "" {
		cmd = append(cmd, "--name="+c.Name)
	}
	if c.Network != "" {
		cmd = append(cmd, "--network=container:"+c.Network)
	}
	for _, d := range c.Devices {
		cmd = append(cmd, "--device="+d)
	}
	for _, m := range c.Mounts {
		o := "--mount=type=bind,source=" + m.Source + ",destination=" + m.Destination
		if m.ReadOnly {
			o += ",readonly=true"
		}
		cmd = append(cmd, o)
	}
	for _, e := range c.Env {
		cmd = append(cmd, "--env="+e[0]+"="+e[1])
	}
	cmd = append(cmd, c.Image)
	return append(cmd, args...)
}

// prepareArgv checks a local image (docker.local: true) or pulls it.
func (c *containerRun) prepareArgv(local bool) []string {
	if local {
		return []string{c.Engine, "image", "inspect", "--format=Image " + c.Image + " exists locally", c.Image}
	}
	return []string{c.Engine, "pull", c.Image}
}

// containerFromParams reads the test action's docker mapping.
func containerFromParams(p sdk.Values, jobID string) (*containerRun, bool, error) {
	d := p.Map("docker")
	image := d.String("image", "")
	if image == "" {
		return nil, false, fmt.Errorf("docker: `image` is required")
	}
	c := &containerRun{Image: image}
	suffix := "-lava-" + jobID
	if n := d.String("container_name", ""); n != "" {
		c.Name = n + suffix
	}
	if n := d.String("network_from", ""); n != "" {
		c.Network = n + suffix
	}
	return c, d.Bool("local", false), nil
}

// usbDevices returns the device nodes of the board's USB serials: for
// each device_info entry with a board_id, the nodes under byID (normally
// /dev/serial/by-id) whose name holds it, resolved to their /dev node, as
// LAVA's get_udev_devices shares them.
func usbDevices(deviceInfo []any, byID string) []string {
	entries, err := os.ReadDir(byID)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, it := range deviceInfo {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		id := fmt.Sprint(m["board_id"])
		if m["board_id"] == nil || id == "" {
			continue
		}
		for _, e := range entries {
			if !strings.Contains(e.Name(), id) {
				continue
			}
			p, err := filepath.EvalSymlinks(filepath.Join(byID, e.Name()))
			if err != nil || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// containerEnv is LAVA's DockerTestSetEnvironment: the board id, the
// connection commands and the power commands of the device.
func containerEnv(s sdk.Values) [][2]string {
	var env [][2]string
	if info, ok := s["device_info"].([]any); ok && len(info) > 0 {
		if m, ok := info[0].(map[string]any); ok && m["board_id"] != nil {
			id := fmt.Sprint(m["board_id"])
			env = append(env, [2]string{"ANDROID_SERIAL", id}, [2]string{"LAVA_BOARD_ID", id})
		}
	}
	if c := s.String("connection_command", ""); c != "" {
		env = append(env, [2]string{"LAVA_CONNECTION_COMMAND", c})
	}
	for _, k := range []string{"hard_reset", "power_on", "power_off"} {
		if cmds := s.Strings(k + "_command"); len(cmds) > 0 && cmds[0] != "" {
			env = append(env, [2]string{"LAVA_" + strings.ToUpper(k) + "_COMMAND", strings.Join(cmds, " && ")})
		}
	}
	return env
}

// containerEngine is the first of docker and podman the worker's admin
// allows for the device.
func (j *run) containerEngine() (string, error) {
	var first error
	for _, e := range []string{"docker", "podman"} {
		p, err := j.d.o.Tools.Resolve(e, j.p.Device, j.p.Def.DeviceType)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", errorf(sdk.ErrorConfiguration, "docker test action: no container engine allowed here: %v (or podman)", first)
}

// dockerTest runs one test stage of the overlay in a container.
func (j *run) dockerTest(ctx context.Context, st *stage) error {
	if j.overlay == nil || st.TestStage < 0 {
		return errorf(sdk.ErrorJob, "docker test action without definitions")
	}
	c, local, err := containerFromParams(st.Action.Params, j.id)
	if err != nil {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	if c.Engine, err = j.containerEngine(); err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = fmt.Sprintf("lava-docker-test-shell-%s-%s", j.id, st.Action.Level)
	}
	s := sdk.Values(j.p.Settings)
	if m := s.Map("actions").Map("test").Map("methods").Map("docker"); m != nil {
		c.GlobalOptions, c.RunOptions = m.Strings("global_options"), m.Strings("options")
	}
	// The overlay goes into a folder of the job, mounted at its root.
	host := filepath.Join(j.dir, "docker-"+st.Action.Level)
	if err := os.MkdirAll(host, 0o755); err != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: %v", err)
	}
	if err := j.overlay.Unpack(ctx, host); err != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: overlay: %v", err)
	}
	c.Mounts = append(c.Mounts, containerMount{Source: filepath.Join(host, j.overlay.Root), Destination: j.overlay.Root})
	info, _ := s["device_info"].([]any)
	c.Devices = usbDevices(info, "/dev/serial/by-id")
	c.Env = containerEnv(s)

	if err := j.runHostArgv(ctx, c.prepareArgv(local)); err != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: image %s: %v", c.Image, err)
	}
	runner := j.overlay.Root + "/bin/lava-test-runner " + j.overlay.Root + "/" + fmt.Sprint(st.TestStage)
	argv := c.argv("sh", "-c", ". "+j.overlay.Root+"/environment && "+runner)
	var runs []testshell.Run
	for _, r := range j.overlay.Runs {
		if r.Stage == st.TestStage {
			runs = append(runs, r)
		}
	}
	parser, err := testshell.NewParser(testshell.ParserOptions{Runs: runs, Level: st.Action.Level, Namespace: st.Action.Namespace})
	if err != nil {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	found := j.log.startParser(parser)
	defer j.log.stopParser()
	j.log.info("docker test: %s", strings.Join(quoteAll(argv), " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 10 * time.Second
	// The engine's client is not the container: on a timeout or a cancel,
	// remove the container (which ends the test in it), then the client.
	cmd.Cancel = func() error {
		j.removeContainer(c)
		return cmd.Process.Kill()
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: starting %s: %v", argv[0], err)
	}
	j.feedLines(out)
	werr := cmd.Wait()
	// Records the parser found that end the test.
	for {
		select {
		case r := <-found:
			if r.Kind == testshell.KindError {
				return errorf(sdk.ErrorTest, "%s", r.Text)
			}
			continue
		default:
		}
		break
	}
	if ctx.Err() != nil {
		return fmt.Errorf("docker test: %w", context.Cause(ctx))
	}
	if werr != nil {
		return errorf(sdk.ErrorInfrastructure, "docker test: the container ended: %v", werr)
	}
	return nil
}

// removeContainer removes the job's container, whatever its state, with a
// context of its own (the job's is done).
func (j *run) removeContainer(c *containerRun) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append(append([]string{c.Engine}, c.GlobalOptions...), "rm", "--force", c.Name)
	j.log.info("removing the container %s", c.Name)
	if err := j.runHostArgv(ctx, argv); err != nil {
		j.log.warn("removing the container %s: %v", c.Name, err)
	}
}

// consoleContainer is the container a console tool runs (`ENGINE [global
// options] run ... --name NAME ...`: the docker device type's boot), nil
// for another console. Closing the console ends the container only when
// its engine client gets to remove it (`--rm`); a client killed first (a
// loaded machine, a console that had to be killed) leaves it running, so
// the dispatcher removes it itself.
func consoleContainer(t *sandbox.Tool) *containerRun {
	if t == nil || (t.Name != "docker" && t.Name != "podman") {
		return nil
	}
	run := slices.Index(t.Args, "run")
	if run < 0 {
		return nil
	}
	for i := run + 1; i < len(t.Args); i++ {
		name, ok := strings.CutPrefix(t.Args[i], "--name=")
		if !ok && t.Args[i] == "--name" && i+1 < len(t.Args) {
			name, ok = t.Args[i+1], true
		}
		if ok && name != "" {
			return &containerRun{Engine: t.Path, GlobalOptions: t.Args[:run:run], Name: name}
		}
	}
	return nil
}

// feedLines logs a process's output as target lines (the parser sees them).
func (j *run) feedLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		j.log.target(line)
		j.log.onLine(line)
	}
}

// runHostArgv runs one engine command, logging its output.
func (j *run) runHostArgv(ctx context.Context, argv []string) error {
	j.log.debug("%s", strings.Join(quoteAll(argv), " "))
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			j.log.debug("%s", l)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	return nil
}

func quoteAll(argv []string) []string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = testshell.ShellQuote(a)
	}
	return q
}
