package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/lavalab/lavalab/core/console"
	"github.com/lavalab/lavalab/core/hosttools"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/dispatch"
	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

func main() {
	// Started under nohup (SIGHUP ignored), the console processes would
	// inherit the ignore and outlive the console's close by seconds.
	console.RestoreChildSignals()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitComplete   = 0
	exitIncomplete = 1
	exitUsage      = 2
	exitCanceled   = 3
)

type settingsFlag map[string]any

func (s settingsFlag) String() string { return fmt.Sprint(map[string]any(s)) }

// Set takes key=value; the value is read as a YAML scalar or flow value.
func (s settingsFlag) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", kv)
	}
	var x any
	if err := yaml.Unmarshal([]byte(v), &x); err != nil || x == nil {
		x = v
	}
	s[k] = x
	return nil
}

// dirList is a repeatable flag of folders (made absolute).
type dirList []string

func (l *dirList) String() string { return strings.Join(*l, ",") }

func (l *dirList) Set(v string) error {
	abs, err := filepath.Abs(v)
	if err != nil {
		return err
	}
	*l = append(*l, abs)
	return nil
}

type config struct {
	job, device, driversDir, output string
	settings                        settingsFlag
	planOnly, noColor               bool
	jobID                           int64
	workDir, cacheDir               string
	tftpAddr, httpAddr, serverIP    string
	nfsExport, nfsServerIP          string
	fileDirs                        dirList
	verbose                         bool
	tools                           *hosttools.Policy
	deviceTypes                     string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{settings: settingsFlag{}}
	fs := flag.NewFlagSet("lava-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.job, "job", "", "job definition (LAVA YAML)")
	fs.StringVar(&c.device, "device", "", "device dictionary (jinja2 or YAML form)")
	fs.StringVar(&c.deviceTypes, "device-types", "", "folder of LAVA device-type templates (*.jinja2): the dictionary's extends is imported from it (issue 16)")
	fs.StringVar(&c.driversDir, "drivers-dir", "", "folder of driver .wasm files (default: drivers next to the binary, else ./bin/drivers)")
	fs.StringVar(&c.output, "output", "", "folder for output.yaml (the log), results.yaml and outcome.json")
	fs.Var(c.settings, "settings", "device-type setting override key=value (repeatable)")
	fs.BoolVar(&c.planOnly, "plan-only", false, "print the plans as JSON and run nothing")
	fs.Int64Var(&c.jobID, "job-id", 1, "job id (LAVA_JOB_ID, artifact paths)")
	fs.StringVar(&c.workDir, "work-dir", "", "folder for job files (default: a temporary folder)")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "artifact cache (default: the user cache folder)")
	fs.StringVar(&c.tftpAddr, "tftp-addr", "", "TFTP listen address (default: a free port)")
	fs.StringVar(&c.httpAddr, "http-addr", "", "HTTP listen address (default: a free port)")
	fs.StringVar(&c.serverIP, "server-ip", "", "address the board reaches this host at (default: the outbound address)")
	fs.StringVar(&c.nfsExport, "nfs-export", "", "directory this host's NFS server exports to boards: NFS root file systems are unpacked under it (default: none, NFS jobs are refused)")
	fs.StringVar(&c.nfsServerIP, "nfs-server-ip", "", "{NFS_SERVER_IP} for the board (default: --server-ip)")
	fs.Var(&c.fileDirs, "allow-file-dir", "folder the job may read file:// URLs from (repeatable; default: none, file:// URLs are refused)")
	fs.BoolVar(&c.noColor, "no-color", false, "no colours (default when stdout is not a terminal or NO_COLOR is set)")
	fs.BoolVar(&c.verbose, "v", false, "log the dispatcher's own diagnostics to stderr")
	var allowTools []string
	fs.Func("allow-tool", "allow drivers' tool steps to run host tool NAME (repeatable): NAME, or NAME@DEVICE_TYPE_OR_DEVICE[,...]; e.g. sh@local for the local device type. Nothing is allowed by default", func(v string) error {
		allowTools = append(allowTools, v)
		return nil
	})
	toolsFile := fs.String("tools-file", "", "YAML allow list of host tools, as lava-worker takes it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	tools, err := hosttools.Load(allowTools, *toolsFile)
	if err != nil {
		return nil, err
	}
	c.tools = tools
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.job == "" || c.device == "" {
		return nil, errors.New("--job and --device are required")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "lava-run:", err)
		}
		return exitUsage
	}
	code, err := runJob(ctx, c, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lava-run:", err)
	}
	return code
}

func runJob(ctx context.Context, c *config, stdout, stderr io.Writer) (int, error) {
	jobText, err := os.ReadFile(c.job)
	if err != nil {
		return exitUsage, err
	}
	dictText, err := os.ReadFile(c.device)
	if err != nil {
		return exitUsage, err
	}
	def, rep := job.Parse(jobText)
	if !rep.OK() {
		return exitUsage, fmt.Errorf("%s: invalid job:\n%v", c.job, rep.Err())
	}
	dict, err := devdict.Parse(dictText)
	if err != nil {
		return exitUsage, fmt.Errorf("%s: %w", c.device, err)
	}
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dir := c.driversDir
	if dir == "" {
		dir = defaultDriversDir()
	}
	host, err := wasm.NewHost(ctx, wasm.Options{CacheDir: wasmCacheDir(), Logger: logger})
	if err != nil {
		return exitIncomplete, err
	}
	defer host.Close(context.Background())
	imported, err := importDeviceType(c.deviceTypes, dict.Extends)
	if err != nil {
		return exitUsage, fmt.Errorf("%s: %w", c.device, err)
	}
	var drv drivers.Driver
	if imported != nil {
		drv, err = findDriver(ctx, host, dir, imported.Driver)
	} else {
		drv, err = findDriver(ctx, host, dir, def.DeviceType, dict.Extends, lavatemplate.ShippedDriver(def.DeviceType), lavatemplate.ShippedDriver(dict.Extends))
	}
	if err != nil {
		return exitUsage, err
	}
	if err := checkMethods(def, drv.Describe()); err != nil {
		return exitUsage, fmt.Errorf("%s: invalid job:\n%w", c.job, err)
	}

	work := c.workDir
	if work == "" {
		if work, err = os.MkdirTemp("", "lava-run-"); err != nil {
			return exitIncomplete, err
		}
		defer os.RemoveAll(work)
	}
	cache := c.cacheDir
	if cache == "" {
		if uc, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(uc, "lavalab", "artifacts")
		}
	}
	d, err := dispatch.New(ctx, dispatch.Options{
		WorkDir: work, CacheDir: cache, TFTPAddr: c.tftpAddr, HTTPAddr: c.httpAddr, TFTPHost: c.serverIP, Logger: logger,
		NFSExport: c.nfsExport, NFSServerIP: c.nfsServerIP, Tools: c.tools, FileURLDirs: c.fileDirs,
	})
	if err != nil {
		return exitIncomplete, err
	}
	defer d.Close()
	name := strings.TrimSuffix(filepath.Base(c.device), filepath.Ext(c.device))
	req := dispatch.Request{JobID: c.jobID, Definition: jobText, DeviceName: name, Dictionary: dictText, Settings: c.settings, Driver: drv}
	if imported != nil {
		stored, err := imported.Marshal()
		if err != nil {
			return exitIncomplete, err
		}
		final, err := lavatemplate.MergeSettings(stored, nil, c.settings, dict.Values)
		if err != nil {
			return exitUsage, fmt.Errorf("%s with %s.jinja2: %w", c.device, imported.Name, err)
		}
		req.Settings, req.SettingsFinal = final, true
	}

	if c.planOnly {
		plans, err := d.Plan(ctx, req)
		if err != nil {
			return exitIncomplete, err
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plans); err != nil {
			return exitIncomplete, err
		}
		return exitComplete, nil
	}

	p := &printer{w: stdout, color: useColor(stdout, c.noColor)}
	var sink dispatch.Sink = p
	var outFile *os.File
	if c.output != "" {
		if err := os.MkdirAll(c.output, 0o755); err != nil {
			return exitIncomplete, err
		}
		if outFile, err = os.Create(filepath.Join(c.output, "output.yaml")); err != nil {
			return exitIncomplete, err
		}
		defer outFile.Close()
		sink = dispatch.SinkFunc(func(r model.LogRecord) {
			p.Record(r)
			writeYAMLRecord(outFile, r)
		})
	}
	out := d.Run(ctx, req, sink)
	printResults(stdout, out)
	if c.output != "" {
		if err := writeOutputs(c.output, c.jobID, out); err != nil {
			fmt.Fprintln(stderr, "lava-run:", err)
		}
	}
	switch out.Health {
	case model.JobComplete:
		return exitComplete, nil
	case model.JobCanceled:
		return exitCanceled, nil
	}
	return exitIncomplete, nil
}

// importDeviceType imports the device type name from the LAVA
// device-type templates in dir (nil when dir is "" or has no such
// template; an error when the template is refused).
func importDeviceType(dir, name string) (*lavatemplate.Type, error) {
	if dir == "" || name == "" {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(dir, name+".jinja2")); err != nil {
		return nil, nil
	}
	verdicts, err := lavatemplate.ImportPaths([]string{filepath.Join(dir, name+".jinja2")})
	if err != nil {
		return nil, err
	}
	v := verdicts[0]
	if v.Base && lavatemplate.DriverForBase(name) != "" {
		// A dictionary that extends a base directly: its driver, no chain.
		return &lavatemplate.Type{Name: name, Base: name, Driver: lavatemplate.DriverForBase(name)}, nil
	}
	if v.Type == nil {
		return nil, fmt.Errorf("device type %s", v)
	}
	return v.Type, nil
}

// defaultDriversDir is drivers/ next to the binary when it exists, else
// ./bin/drivers.
func defaultDriversDir() string {
	if exe, err := os.Executable(); err == nil {
		d := filepath.Join(filepath.Dir(exe), "drivers")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return filepath.Join("bin", "drivers")
}

func wasmCacheDir() string {
	uc, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(uc, "lavalab", "wasm")
}

// findDriver loads the driver serving the job's device type (or the
// dictionary's): <type>.wasm first, then every .wasm of dir.
func findDriver(ctx context.Context, host *wasm.Host, dir string, types ...string) (drivers.Driver, error) {
	types = slices.DeleteFunc(slices.Compact(types), func(s string) bool { return s == "" })
	if len(types) == 0 {
		return nil, errors.New("neither the job nor the dictionary names a device type")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no driver (.wasm) in %s: build them with `make drivers` or give --drivers-dir", dir)
	}
	// Likely names first.
	slices.SortStableFunc(files, func(a, b string) int {
		rank := func(f string) int {
			if slices.Contains(types, strings.TrimSuffix(filepath.Base(f), ".wasm")) {
				return 0
			}
			return 1
		}
		return rank(a) - rank(b)
	})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := host.Load(ctx, filepath.Base(f), b)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lava-run: skipping %s: %v\n", f, err)
			continue
		}
		for _, t := range types {
			if slices.Contains(m.Describe().DeviceTypes, t) {
				return m, nil
			}
		}
		_ = m.Close(ctx)
	}
	return nil, fmt.Errorf("no driver in %s serves device type %s", dir, strings.Join(types, " or "))
}

// checkMethods refuses the deploy `to` and boot `method` values the driver
// does not declare, as the server does at submit (job.CheckMethods): the
// driver found for the job runs every action of it.
func checkMethods(def *job.Definition, d sdk.Description) error {
	drv := job.Driver{Name: d.Name, Version: d.Version, DeployMethods: d.DeployMethods, BootMethods: d.BootMethods}
	rep := job.Report{Errors: job.CheckMethods(def, func(string) (job.Driver, bool) { return drv, true })}
	return rep.Err()
}

// writeYAMLRecord writes one record as LAVA's output.yaml does.
func writeYAMLRecord(w io.Writer, r model.LogRecord) {
	var msg any = r.Message
	if r.Structured {
		msg = json.RawMessage(r.Message)
	}
	b, err := json.Marshal(map[string]any{"dt": r.Time.Format("2006-01-02T15:04:05.000000"), "lvl": r.Level, "msg": msg})
	if err != nil {
		return
	}
	fmt.Fprintf(w, "- %s\n", b)
}

func writeOutputs(dir string, jobID int64, out dispatch.Outcome) error {
	rows := make([]results.Row, 0, len(out.Cases))
	for i, c := range out.Cases {
		var meta map[string]any
		_ = json.Unmarshal(c.Metadata, &meta)
		rows = append(rows, results.Row{ID: int64(i + 1), Job: fmt.Sprint(jobID), Logged: c.Logged, Case: results.Case{
			Suite: c.Suite, Name: c.Name, Result: c.Result.String(), Measurement: c.Measurement, Units: c.Units,
			Set: c.Set, LogStart: c.LogStart, LogEnd: c.LogEnd, Metadata: meta,
		}})
	}
	f, err := os.Create(filepath.Join(dir, "results.yaml"))
	if err != nil {
		return err
	}
	if err := results.WriteYAML(f, rows); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{
		"health": out.Health.String(), "error_type": out.ErrorType, "error": out.Error, "settings": out.Settings,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "outcome.json"), append(b, '\n'), 0o644)
}

// printResults prints the results table and the job's end.
func printResults(w io.Writer, out dispatch.Outcome) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tCASE\tRESULT\tMEASUREMENT")
	for _, c := range out.Cases {
		m := ""
		if c.Measurement != nil {
			m = strings.TrimSpace(strconv.FormatFloat(*c.Measurement, 'f', -1, 64) + " " + c.Units)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Suite, c.Name, strings.ToLower(c.Result.String()), m)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if out.Health == model.JobComplete {
		fmt.Fprintln(w, "Job Complete")
		return
	}
	fmt.Fprintf(w, "Job %s: %s: %s\n", out.Health, out.ErrorType, out.Error)
}

// printer prints records like lavacli's `jobs logs`.
type printer struct {
	w     io.Writer
	color bool
}

// Colours by level, after lavacli.
var colors = map[string]string{
	model.LevelException: "\x1b[1;31m",
	model.LevelError:     "\x1b[1;31m",
	model.LevelWarning:   "\x1b[1;33m",
	model.LevelInfo:      "\x1b[1;37m",
	model.LevelDebug:     "\x1b[0;37m",
	model.LevelInput:     "\x1b[0;35m",
	model.LevelTarget:    "\x1b[0;32m",
	model.LevelFeedback:  "\x1b[0;33m",
	model.LevelEvent:     "\x1b[0;34m",
	model.LevelResults:   "\x1b[1;34m",
}

func (p *printer) Record(r model.LogRecord) {
	msg := r.Message
	if r.Level == model.LevelTarget {
		msg = strings.ToValidUTF8(strings.NewReplacer("\x1b", "^[", "\r", "").Replace(msg), "?")
	}
	ts := r.Time.Local().Format(time.TimeOnly)
	if !p.color {
		fmt.Fprintf(p.w, "%s %-7s %s\n", ts, r.Level, msg)
		return
	}
	fmt.Fprintf(p.w, "%s %s%s\x1b[0m\n", ts, colors[r.Level], msg)
}

func useColor(w io.Writer, off bool) bool {
	if off || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
