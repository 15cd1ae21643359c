package testshell

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ShellQuote quotes s for a POSIX shell as Python's shlex.quote does: as it
// is when it holds only [A-Za-z0-9_@%+=:,./-], else in single quotes with
// each ' written as '"'"'.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// singleQuote quotes s in single quotes always (NAME='value' lines of
// run.sh), escaping embedded quotes.
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// flatten turns a nested environment into NAME=value pairs: nested keys
// joined with _, list items by index, bools as 1/0, keys sorted.
func flatten(prefix string, v any, out *[][2]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "_" + k
			}
			flatten(name, x[k], out)
		}
	case []any:
		for i, e := range x {
			flatten(prefix+"_"+strconv.Itoa(i), e, out)
		}
	case bool:
		val := "0"
		if x {
			val = "1"
		}
		*out = append(*out, [2]string{prefix, val})
	case nil:
		*out = append(*out, [2]string{prefix, ""})
	default:
		*out = append(*out, [2]string{prefix, pyStrParam(x)})
	}
}

func environmentFile(job Job) ([]byte, error) {
	var pairs [][2]string
	if len(job.DeviceEnvironment) > 0 {
		flatten("", job.DeviceEnvironment, &pairs)
	}
	if len(job.Environment) > 0 {
		flatten("", job.Environment, &pairs)
	}
	var b strings.Builder
	for _, p := range pairs {
		if !shellName.MatchString(p[0]) {
			return nil, fmt.Errorf("environment: %q is not a shell variable name", p[0])
		}
		b.WriteString("export " + p[0] + "=" + ShellQuote(p[1]) + "\n")
	}
	b.WriteString("export LAVA_JOB_ID=" + ShellQuote(job.ID) + "\n")
	b.WriteString("export LAVA_DISPATCHER_IP=" + ShellQuote(job.DispatcherIP) + "\n")
	return []byte(b.String()), nil
}

func secretsFile(secrets map[string]any) ([]byte, error) {
	var pairs [][2]string
	if len(secrets) > 0 {
		flatten("", secrets, &pairs)
	}
	var b strings.Builder
	for _, p := range pairs {
		if !shellName.MatchString(p[0]) {
			return nil, fmt.Errorf("secrets: %q is not a shell variable name", p[0])
		}
		b.WriteString(p[0] + "=" + ShellQuote(p[1]) + "\n")
	}
	return []byte(b.String()), nil
}

func skipped(d Definition, part string) bool {
	for _, s := range d.SkipInstall {
		if s == part || s == "all" {
			return true
		}
	}
	return false
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if e == nil {
			continue
		}
		out = append(out, pyStrParam(e))
	}
	return out
}

// installScript writes install.sh: keys and sources are not handled (they
// need distribution tools; a comment says so), deps go to
// lava-install-packages (which needs a package manager on the image),
// git-repos are cloned, steps run; skip_install is honoured.
func installScript(td *testdef, d Definition, osName, absDir string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("set -e\nset -x\n")
	b.WriteString("cd " + ShellQuote(absDir) + "\n")
	in := td.Install
	if in == nil {
		return []byte(b.String()), nil
	}
	for _, part := range []string{"keys", "sources"} {
		if _, ok := in[part]; ok && !skipped(d, part) {
			b.WriteString("# install." + part + " is not supported by this overlay; skipped\n")
		}
	}
	if !skipped(d, "deps") {
		deps := stringList(in["deps"])
		if osName != "" {
			deps = append(deps, stringList(in["deps-"+osName])...)
		}
		if len(deps) > 0 {
			b.WriteString("lava-install-packages")
			for _, p := range deps {
				b.WriteString(" " + ShellQuote(p))
			}
			b.WriteString("\n")
		}
	}
	if !skipped(d, "git-repos") {
		repos, _ := in["git-repos"].([]any)
		for i, r := range repos {
			var url, dest, branch string
			switch x := r.(type) {
			case string:
				url = x
			case map[string]any:
				url, _ = x["url"].(string)
				dest, _ = x["destination"].(string)
				branch, _ = x["branch"].(string)
			}
			if url == "" {
				return nil, fmt.Errorf("install.git-repos[%d]: no url", i)
			}
			if dest != "" {
				if _, err := cleanRel(dest); err != nil {
					return nil, fmt.Errorf("install.git-repos[%d].destination: %w", i, err)
				}
			}
			line := "git clone"
			if branch != "" {
				line += " -b " + ShellQuote(branch)
			}
			line += " -- " + ShellQuote(url)
			if dest != "" {
				line += " " + ShellQuote(dest)
			}
			b.WriteString(line + "\n")
		}
	}
	if !skipped(d, "steps") {
		for _, s := range stringList(in["steps"]) {
			b.WriteString(s + "\n")
		}
	}
	return []byte(b.String()), nil
}

var dollarDigit = regexp.MustCompile(`(^|[^\\])\$([0-9])`)

// escapeArgs writes $1… as \$1… in steps that use --cmd or --shell, so the
// positional parameters reach lava-test-case (or the background process)
// instead of being expanded by run.sh.
func escapeArgs(step string) string {
	if !strings.Contains(step, "--cmd") && !strings.Contains(step, "--shell") {
		return step
	}
	// Twice, for adjacent matches such as $1$2.
	for range 2 {
		step = dollarDigit.ReplaceAllString(step, `${1}\$$${2}`)
	}
	return step
}

func runScript(td *testdef, d Definition, runID, absDir string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("###default parameters from test definition###\n")
	for _, p := range td.params {
		if !shellName.MatchString(p.Name) {
			return nil, fmt.Errorf("test definition parameter %q is not a shell variable name", p.Name)
		}
		b.WriteString(p.Name + "=" + singleQuote(p.Value) + "\n")
	}
	b.WriteString("######\n")
	b.WriteString("###test parameters from job submission###\n")
	for _, p := range d.Parameters {
		if !shellName.MatchString(p.Name) {
			return nil, fmt.Errorf("job parameter %q is not a shell variable name", p.Name)
		}
		b.WriteString(p.Name + "=" + singleQuote(p.Value) + "\n")
	}
	b.WriteString("######\n")
	b.WriteString("set -e\nset -x\n")
	b.WriteString("export TESTRUN_ID=" + runID + "\n")
	b.WriteString("cd " + ShellQuote(absDir) + "\n")
	b.WriteString("UUID=`cat uuid`\n")
	b.WriteString("set +x\n")
	kmsg := d.LavaSignal == "kmsg"
	switch d.LavaSignal {
	case "", "stdout", "kmsg":
	default:
		return nil, fmt.Errorf("lava-signal %q: must be kmsg or stdout", d.LavaSignal)
	}
	if kmsg {
		b.WriteString("export KMSG=true\n")
		b.WriteString(`echo "<0><LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>" > /dev/kmsg` + "\n")
	} else {
		b.WriteString(`echo "<LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>"` + "\n")
	}
	b.WriteString("set -x\n")
	for _, s := range td.Run.Steps {
		if s == nil {
			continue
		}
		b.WriteString(escapeArgs(pyStrParam(s)) + "\n")
	}
	b.WriteString("set +x\n")
	if kmsg {
		b.WriteString("unset KMSG\n")
		b.WriteString(`echo "<0><LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>" > /dev/kmsg` + "\n")
	} else {
		b.WriteString(`echo "<LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>"` + "\n")
	}
	return []byte(b.String()), nil
}
