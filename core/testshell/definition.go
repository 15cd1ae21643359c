package testshell

import (
	"fmt"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Definition is one entry of a test action's `definitions` list.
type Definition struct {
	// From is git, url or inline.
	From string
	// Repository is the git URL or the tar archive URL (from git, url).
	Repository string
	// Inline is the test definition mapping (from inline): a map[string]any
	// or a *yaml.Node.
	Inline any
	// Path is the test definition file inside the repository.
	Path string
	// Name is the test's name; the test folder is <idx>_<name>.
	Name string
	// Compression is the archive's compression (from url).
	Compression string
	// Branch and Revision select what to check out (from git).
	Branch, Revision string
	// History false removes .git after the clone (from git; default true).
	History *bool
	// Parameters are the job's parameters/params for the test, in order.
	Parameters []Param
	// SkipInstall lists install parts to skip: keys, sources, deps, steps,
	// git-repos or all.
	SkipInstall []string
	// LavaSignal is kmsg or stdout (the default).
	LavaSignal string
	// Level is the pipeline level of the definition's action (the uuid is
	// <job id>_<level>); empty gives <stage+1>.<position+1>.
	Level string
}

// Param is one test parameter; Value is already a string (Python's str() of
// the YAML value, as LAVA writes it).
type Param struct{ Name, Value string }

var nameRE = regexp.MustCompile(`^[-_a-zA-Z0-9.]+$`)

// JobFromYAML reads what the overlay needs from a LAVA job definition: the
// environment, the secrets and the definitions of every test action (one
// stage per test action that has definitions, in job order). Multinode
// protocol environments and device facts are the caller's to add.
func JobFromYAML(id string, text []byte) (Job, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Job{}, fmt.Errorf("job %s: not a mapping", id)
	}
	root := doc.Content[0]
	job := Job{ID: id}
	if n := mapGet(root, "environment"); n != nil {
		if err := n.Decode(&job.Environment); err != nil {
			return Job{}, fmt.Errorf("job %s: environment: %w", id, err)
		}
	}
	if n := mapGet(root, "secrets"); n != nil {
		if err := n.Decode(&job.Secrets); err != nil {
			return Job{}, fmt.Errorf("job %s: secrets: %w", id, err)
		}
	}
	actions := mapGet(root, "actions")
	if actions == nil || actions.Kind != yaml.SequenceNode {
		return job, nil
	}
	for i, a := range actions.Content {
		test := mapGet(a, "test")
		if test == nil {
			continue
		}
		defs := mapGet(test, "definitions")
		if defs == nil {
			continue
		}
		stage, err := DefinitionsFromNode(defs)
		if err != nil {
			return Job{}, fmt.Errorf("job %s: actions[%d].test: %w", id, i, err)
		}
		job.Stages = append(job.Stages, stage)
	}
	return job, nil
}

// DefinitionsFromNode reads a test action's `definitions` list.
func DefinitionsFromNode(n *yaml.Node) ([]Definition, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("definitions: line %d: not a list", n.Line)
	}
	var out []Definition
	for i, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("definitions[%d]: line %d: not a mapping", i, e.Line)
		}
		d := Definition{
			From:        scalar(mapGet(e, "from")),
			Path:        scalar(mapGet(e, "path")),
			Name:        scalar(mapGet(e, "name")),
			Compression: scalar(mapGet(e, "compression")),
			Branch:      scalar(mapGet(e, "branch")),
			Revision:    scalar(mapGet(e, "revision")),
			LavaSignal:  scalar(mapGet(e, "lava-signal")),
		}
		repo := mapGet(e, "repository")
		if d.From == "inline" {
			d.Inline = repo
		} else {
			d.Repository = scalar(repo)
		}
		if h := mapGet(e, "history"); h != nil {
			b, err := strconv.ParseBool(h.Value)
			if err != nil {
				return nil, fmt.Errorf("definitions[%d].history: line %d: not a boolean", i, h.Line)
			}
			d.History = &b
		}
		if s := mapGet(e, "skip_install"); s != nil {
			if err := s.Decode(&d.SkipInstall); err != nil {
				return nil, fmt.Errorf("definitions[%d].skip_install: %w", i, err)
			}
		}
		p := mapGet(e, "parameters")
		if p == nil {
			p = mapGet(e, "params")
		}
		params, err := paramsFromNode(p)
		if err != nil {
			return nil, fmt.Errorf("definitions[%d].parameters: %w", i, err)
		}
		d.Parameters = params
		out = append(out, d)
	}
	return out, nil
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// paramsFromNode reads a parameters mapping in document order.
func paramsFromNode(n *yaml.Node) ([]Param, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: not a mapping", n.Line)
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v any
		if err := n.Content[i+1].Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Content[i+1].Line, err)
		}
		out = append(out, Param{Name: n.Content[i].Value, Value: pyStrParam(v)})
	}
	return out, nil
}
