package testshell

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/results"
	"gopkg.in/yaml.v3"
)

// DefaultResultsDir is LAVA's lava_test_results_dir: the overlay root, with
// %s the job id.
const DefaultResultsDir = "/lava-%s"

// DefaultShell is LAVA's lava_test_sh_cmd.
const DefaultShell = "/bin/sh"

// Job is what the overlay is built from.
type Job struct {
	ID string
	// Stages holds one list of definitions per test action, in job order;
	// the stage folder is the list's index.
	Stages [][]Definition
	// Environment is the job's (or the multinode role's) environment;
	// DeviceEnvironment the device's, written first.
	Environment, DeviceEnvironment map[string]any
	// Secrets are written to the secrets file.
	Secrets map[string]any
	// DispatcherIP is exported as LAVA_DISPATCHER_IP.
	DispatcherIP string
	// TargetIP and TargetMAC are prepended to lava-target-ip/-mac.
	TargetIP, TargetMAC string
	// Multinode, for a multinode sub-job, adds the multinode API scripts
	// (issue 21).
	Multinode *Multinode
}

// Options tune Build. The zero value is LAVA's defaults with HTTPFetcher.
type Options struct {
	// ResultsDir is the root pattern (default DefaultResultsDir); tests
	// point it at a temporary folder.
	ResultsDir string
	// Shell is the #! of the scripts and the SHELL of the runner
	// (default DefaultShell).
	Shell string
	// Fetcher downloads `from: url` archives (default HTTPFetcher{}).
	Fetcher Fetcher
	// Git is the git program (default "git").
	Git string
	// TempDir holds git clones while they are read (default os.TempDir()).
	TempDir string
	// OS is the deploy action's os; install.deps-<os> is added to deps.
	OS string
	// ModTime stamps every entry of the tar and cpio forms (default the
	// Unix epoch, so outputs are reproducible).
	ModTime time.Time
	// MaxRepoBytes caps the size of one repository (default 512 MiB).
	MaxRepoBytes int64
	// Logger receives progress (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ResultsDir == "" {
		o.ResultsDir = DefaultResultsDir
	}
	if o.Shell == "" {
		o.Shell = DefaultShell
	}
	if o.Fetcher == nil {
		o.Fetcher = HTTPFetcher{}
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.ModTime.IsZero() {
		o.ModTime = time.Unix(0, 0).UTC()
	}
	if o.MaxRepoBytes <= 0 {
		o.MaxRepoBytes = 512 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Root returns the overlay root for a job id: ResultsDir with %s replaced.
func (o Options) Root(jobID string) string {
	o = o.withDefaults()
	return strings.ReplaceAll(o.ResultsDir, "%s", jobID)
}

// File is one entry of the overlay.
type File struct {
	// Path is relative to the overlay root, slash separated.
	Path string
	// Mode holds the permission bits and fs.ModeDir or fs.ModeSymlink.
	Mode fs.FileMode
	Data []byte
	// Link is a symlink's target.
	Link string
}

// Run describes one test run (one definition) for the Parser.
type Run struct {
	// ID is the TESTRUN_ID and the results suite, <idx>_<name>.
	ID    string
	Stage int
	Name  string
	// UUID is <job id>_<level>.
	UUID       string
	Level      string
	From       string
	Repository string
	Path       string
	Revision   string
	CommitID   string
	// Pattern and Fixup are the definition's parse section.
	Pattern string
	Fixup   map[string]string
}

// Overlay is a built test shell overlay, held in memory.
type Overlay struct {
	// Root is the absolute overlay root, e.g. /lava-1234.
	Root string
	// Files are sorted by path; every parent folder has an entry.
	Files []File
	// Runs are the test runs in order.
	Runs    []Run
	modTime time.Time
	shell   string
}

type tree map[string]*File

func (t tree) dir(p string) {
	for p != "." && p != "" && p != "/" {
		if _, ok := t[p]; ok {
			return
		}
		t[p] = &File{Path: p, Mode: fs.ModeDir | 0o755}
		p = path.Dir(p)
	}
}

func (t tree) file(p string, mode fs.FileMode, data []byte) {
	t.dir(path.Dir(p))
	t[p] = &File{Path: p, Mode: mode, Data: data}
}

// Build makes the overlay of a job. Every error names the definition and
// what was wrong.
func Build(ctx context.Context, job Job, opts Options) (*Overlay, error) {
	opts = opts.withDefaults()
	if job.ID == "" || strings.ContainsAny(job.ID, "/ \t\n'\"\\$`") {
		return nil, fmt.Errorf("overlay: bad job id %q", job.ID)
	}
	root := path.Clean(opts.Root(job.ID))
	if !path.IsAbs(root) || root == "/" {
		return nil, fmt.Errorf("overlay: results dir %q is not an absolute folder", opts.ResultsDir)
	}
	ov := &Overlay{Root: root, modTime: opts.ModTime, shell: opts.Shell}
	t := tree{}
	t.dir("bin")
	t.dir("results")
	t.dir("tests")

	names, err := scriptNames()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		var vars []string
		switch name {
		case "lava-target-ip":
			vars = []string{"TARGET_DEVICE_IP=" + ShellQuote(job.TargetIP)}
		case "lava-target-mac":
			vars = []string{"TARGET_DEVICE_MAC=" + ShellQuote(job.TargetMAC)}
		}
		data, err := script(name, opts.Shell, vars)
		if err != nil {
			return nil, err
		}
		t.file("bin/"+name, 0o755, data)
	}

	if job.Multinode != nil {
		if err := multinodeFiles(t, opts.Shell, job.Multinode); err != nil {
			return nil, err
		}
	}

	env, err := environmentFile(job)
	if err != nil {
		return nil, err
	}
	t.file("environment", 0o644, env)
	sec, err := secretsFile(job.Secrets)
	if err != nil {
		return nil, err
	}
	t.file("secrets", 0o600, sec)

	idx := 0
	for stage, defs := range job.Stages {
		var conf strings.Builder
		stageDir := strconv.Itoa(stage)
		t.dir(stageDir + "/tests")
		for pos, d := range defs {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("overlay: %w", err)
			}
			run, err := buildDefinition(ctx, t, job, opts, root, stage, pos, idx, d)
			if err != nil {
				return nil, fmt.Errorf("overlay: definition %d (%s): %w", idx, d.Name, err)
			}
			ov.Runs = append(ov.Runs, run)
			conf.WriteString(root + "/" + stageDir + "/tests/" + run.ID + "\n")
			idx++
		}
		t.file(stageDir+"/lava-test-runner.conf", 0o644, []byte(conf.String()))
	}

	ov.Files = make([]File, 0, len(t))
	for _, f := range t {
		ov.Files = append(ov.Files, *f)
	}
	sort.Slice(ov.Files, func(i, j int) bool { return ov.Files[i].Path < ov.Files[j].Path })
	return ov, nil
}

// generated are the names Build writes in each test folder.
var generated = map[string]bool{"testdef.yaml": true, "uuid": true, "testdef_metadata": true, "install.sh": true, "run.sh": true}

// testdef is the part of a test definition file the overlay reads.
type testdef struct {
	Metadata map[string]any `yaml:"metadata"`
	Install  map[string]any `yaml:"install"`
	Parse    struct {
		Pattern   string            `yaml:"pattern"`
		Fixupdict map[string]string `yaml:"fixupdict"`
	} `yaml:"parse"`
	Run struct {
		Steps []any `yaml:"steps"`
	} `yaml:"run"`
	params []Param
}

func parseTestdef(data []byte) (*testdef, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("test definition: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("test definition: not a mapping")
	}
	var td testdef
	if err := doc.Content[0].Decode(&td); err != nil {
		return nil, fmt.Errorf("test definition: %w", err)
	}
	p := mapGet(doc.Content[0], "params")
	if p == nil {
		p = mapGet(doc.Content[0], "parameters")
	}
	params, err := paramsFromNode(p)
	if err != nil {
		return nil, fmt.Errorf("test definition: params: %w", err)
	}
	td.params = params
	if name, _ := td.Metadata["name"].(string); name == "" {
		return nil, fmt.Errorf("test definition: metadata.name is missing")
	}
	return &td, nil
}

func buildDefinition(ctx context.Context, t tree, job Job, opts Options, root string, stage, pos, idx int, d Definition) (Run, error) {
	if !nameRE.MatchString(d.Name) {
		return Run{}, fmt.Errorf("name %q does not match ^[-_a-zA-Z0-9.]+$", d.Name)
	}
	if d.Name == "lava" {
		return Run{}, fmt.Errorf(`the "lava" test definition name is reserved`)
	}
	rel, err := cleanRel(d.Path)
	if err != nil {
		return Run{}, fmt.Errorf("path: %w", err)
	}
	level := d.Level
	if level == "" {
		level = fmt.Sprintf("%d.%d", stage+1, pos+1)
	}
	run := Run{
		ID: fmt.Sprintf("%d_%s", idx, d.Name), Stage: stage, Name: d.Name,
		UUID: job.ID + "_" + level, Level: level, From: d.From,
		Repository: d.Repository, Path: d.Path,
	}
	testDir := fmt.Sprintf("%d/tests/%s", stage, run.ID)
	absDir := root + "/" + testDir
	repo := tree{}
	var tdData []byte
	var version string
	switch d.From {
	case "inline":
		if d.Inline == nil {
			return Run{}, fmt.Errorf("from inline: repository is empty")
		}
		tdData, err = yaml.Marshal(d.Inline)
		if err != nil {
			return Run{}, fmt.Errorf("from inline: %w", err)
		}
		repo.file(rel, 0o644, tdData)
		run.Repository = "inline"
		version = "inline"
	case "url":
		if d.Repository == "" {
			return Run{}, fmt.Errorf("from url: repository is empty")
		}
		if d.Compression == "" {
			return Run{}, fmt.Errorf("from url: compression is required")
		}
		if err := loadArchive(ctx, repo, opts, d.Repository, d.Compression); err != nil {
			return Run{}, err
		}
		version = d.Repository
	case "git":
		if d.Repository == "" {
			return Run{}, fmt.Errorf("from git: repository is empty")
		}
		commit, err := loadGit(ctx, repo, opts, d)
		if err != nil {
			return Run{}, err
		}
		run.Revision, run.CommitID, version = d.Revision, commit, commit
	default:
		return Run{}, fmt.Errorf("from %q: must be git, url or inline", d.From)
	}
	if d.From != "inline" {
		f, ok := repo[rel]
		if !ok || f.Mode.Type() != 0 {
			return Run{}, fmt.Errorf("path %q: no such file in %s", d.Path, d.Repository)
		}
		tdData = f.Data
	}
	td, err := parseTestdef(tdData)
	if err != nil {
		return Run{}, fmt.Errorf("%s: %w", d.Path, err)
	}
	run.Pattern, run.Fixup = td.Parse.Pattern, td.Parse.Fixupdict

	for p, f := range repo {
		if generated[strings.SplitN(p, "/", 2)[0]] {
			continue // the generated file of that name wins
		}
		nf := *f
		nf.Path = testDir + "/" + p
		t.dir(path.Dir(nf.Path))
		t[nf.Path] = &nf
	}
	t.dir(testDir)
	t.file(testDir+"/testdef.yaml", 0o644, tdData)
	t.file(testDir+"/uuid", 0o644, []byte(run.UUID))
	meta, err := testdefMetadata(td, d, run, version)
	if err != nil {
		return Run{}, err
	}
	t.file(testDir+"/testdef_metadata", 0o644, meta)
	install, err := installScript(td, d, opts.OS, absDir)
	if err != nil {
		return Run{}, err
	}
	t.file(testDir+"/install.sh", 0o755, install)
	runSh, err := runScript(td, d, run.ID, absDir)
	if err != nil {
		return Run{}, err
	}
	t.file(testDir+"/run.sh", 0o755, runSh)
	opts.Logger.DebugContext(ctx, "test definition added to the overlay", "run", run.ID, "from", d.From, "files", len(repo))
	return run, nil
}

// cleanRel checks that p is a relative path that stays inside its folder.
func cleanRel(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty")
	}
	if strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') {
		return "", fmt.Errorf("%q is not a relative path", p)
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q leaves the repository", p)
	}
	return c, nil
}

func testdefMetadata(td *testdef, d Definition, run Run, version string) ([]byte, error) {
	m := map[string]any{
		"name":       run.Name,
		"path":       d.Path,
		"from":       d.From,
		"repository": run.Repository,
		"version":    version,
		"uuid":       run.UUID,
	}
	for _, k := range []string{"format", "description", "os", "devices", "scope", "environment", "maintainer"} {
		if v, ok := td.Metadata[k]; ok {
			m[k] = v
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("testdef_metadata: %w", err)
	}
	return out, nil
}

// pyStrParam renders a parameter value as Python's str() would.
func pyStrParam(v any) string {
	if v == nil {
		return "None"
	}
	return results.PyStr(v)
}
