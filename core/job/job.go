package job

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest definition Parse accepts, in bytes.
const MaxSize = 1 << 20

// Issue is one validation error or warning.
type Issue struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// String renders the issue as "path (line L, column C): message".
func (i Issue) String() string {
	p := i.Path
	if p == "" {
		p = "definition"
	}
	if i.Line <= 0 {
		return p + ": " + i.Message
	}
	return fmt.Sprintf("%s (line %d, column %d): %s", p, i.Line, i.Column, i.Message)
}

// Report holds every error and warning found in one definition.
type Report struct {
	Errors   []Issue `json:"errors"`
	Warnings []Issue `json:"warnings"`
}

// OK reports whether the definition has no errors (warnings allowed).
func (r *Report) OK() bool { return r == nil || len(r.Errors) == 0 }

// Err returns nil when OK, else an error listing every Issue, one per line.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	lines := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		lines[i] = e.String()
	}
	return errors.New("invalid job definition:\n" + strings.Join(lines, "\n"))
}

// Visibility is the job's visibility: Kind is "public", "personal" or
// "group" (then Groups lists the group names).
type Visibility struct {
	Kind   string
	Groups []string
}

// Timeouts are the job-level timeouts. Zero means unset.
type Timeouts struct {
	Job, Queue, Action, Connection time.Duration
	Actions, Connections           map[string]time.Duration
}

// Action is one entry of the job's actions list.
type Action struct {
	Kind         string         // deploy | boot | test | command
	Method       string         // deploy `to`, boot `method`, command `name`; "" for test
	Params       map[string]any // the action's mapping as decoded
	Timeout      time.Duration  // the action's own `timeout`, 0 if unset
	FailureRetry int            // failure_retry, 0 if unset
	Namespace    string
	Roles        []string
	Line         int
	// Index is the action's position in the actions list (the N of
	// actions[N]); MethodLine and MethodColumn are where its `to` (deploy),
	// `method` (boot) or `name` (command) value is written, 0 if absent.
	Index                    int
	MethodLine, MethodColumn int
}

// Role is one role of a multinode definition.
type Role struct {
	Name       string
	DeviceType string // "" for a connection role (connection: ssh ...)
	Count      int
	Tags       []string
	Context    map[string]any
	Essential  bool
	// Issue 21: a connection role (LAVA's dynamic connection) has no
	// device: Connection (ssh), the role whose device it connects to
	// (HostRole), the role it expects its start from (ExpectRole) and the
	// protocol request it makes at start (Request, lava-start).
	Connection, HostRole, ExpectRole, Request string
}

// Definition is a parsed job definition.
type Definition struct {
	Text                                    []byte // verbatim submission
	JobName, DeviceType                     string
	Priority                                int // 0..100; high=100, medium=50 (default), low=0
	Visibility                              Visibility
	Tags                                    []string
	Timeouts                                Timeouts
	Actions                                 []Action
	Context, Environment, Secrets, Metadata map[string]any
	Roles                                   []Role // non-empty only for multinode

	root *yaml.Node // the document's top mapping, for Split
}

// IsMultinode reports whether the definition uses protocols: lava-multinode.
func (d *Definition) IsMultinode() bool { return d != nil && len(d.Roles) > 0 }

// Parse decodes and validates a job definition. The Definition is nil only
// when the text is not a YAML mapping at all (also: over MaxSize, invalid
// YAML, or a YAML bomb); the Report is never nil and lists every error and
// warning.
func Parse(text []byte) (*Definition, *Report) {
	rep := &Report{}
	if len(text) > MaxSize {
		rep.Errors = append(rep.Errors, Issue{Message: fmt.Sprintf("definition is %d bytes, over the %d bytes limit", len(text), MaxSize)})
		return nil, rep
	}
	var doc yaml.Node
	if err := safeUnmarshal(text, &doc); err != nil {
		line := 0
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			line = yamlErrLine(err.Error())
		}
		rep.Errors = append(rep.Errors, Issue{Line: line, Column: min(line, 1), Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		return nil, rep
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		rep.Errors = append(rep.Errors, Issue{Line: 1, Column: 1, Message: "empty definition: expected a mapping"})
		return nil, rep
	}
	v := &validator{rep: rep}
	root := doc.Content[0]
	if !v.measure(root) {
		return nil, rep
	}
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		v.errf("", root, "expected a mapping at the top of the definition, got %s", kindName(root))
		return nil, rep
	}
	d := &Definition{Text: text, Priority: 50, root: root}
	v.def = d
	v.validate(root)
	v.finish()
	return d, rep
}

// safeUnmarshal runs yaml.Unmarshal and turns a panic of the YAML library
// into an error, so that no input can crash the caller.
func safeUnmarshal(text []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failure: %v", r)
		}
	}()
	return yaml.Unmarshal(text, n)
}

// yamlErrLine extracts the line number from a yaml.v3 error text
// ("yaml: line 3: ...").
func yamlErrLine(s string) int {
	_, rest, ok := strings.Cut(s, "line ")
	if !ok {
		return 0
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0
		}
	}
	return n
}
