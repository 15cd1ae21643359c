package job

// Issue 21: the definition of one multinode sub-job, as Split renders it,
// run by a dispatcher as a single-device job.

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// SubJobFacts are a sub-job's multinode facts (protocols.lava-multinode).
type SubJobFacts struct {
	// Role is the sub-job's role (lava-multinode.role).
	Role string
	// Timeout is lava-multinode.timeout, 0 if unset: how long the group
	// may take to start and each multinode call may wait.
	Timeout time.Duration
}

// ReadSubJob reads a multinode sub-job's definition (Split's Text): it returns
// its multinode facts and the definition without the lava-multinode
// protocol, a single-device job that Parse accepts. A definition without
// lava-multinode.role is not a sub-job: nil facts and the text unchanged.
func ReadSubJob(text []byte) (*SubJobFacts, []byte, error) {
	var doc yaml.Node
	if err := safeUnmarshal(text, &doc); err != nil {
		return nil, text, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, text, nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, text, nil
	}
	protoIdx := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "protocols" {
			protoIdx = i
		}
	}
	if protoIdx < 0 {
		return nil, text, nil
	}
	protos := resolve(root.Content[protoIdx+1])
	if protos.Kind != yaml.MappingNode {
		return nil, text, nil
	}
	var mn *yaml.Node
	kept := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(protos.Content); i += 2 {
		if protos.Content[i].Value == "lava-multinode" {
			mn = resolve(protos.Content[i+1])
			continue
		}
		kept.Content = append(kept.Content, protos.Content[i], protos.Content[i+1])
	}
	if mn == nil || mn.Kind != yaml.MappingNode {
		return nil, text, nil
	}
	facts := &SubJobFacts{}
	for _, p := range pairs(mn) {
		switch p.key {
		case "role":
			s, ok := str(p.v)
			if !ok || s == "" {
				return nil, text, errors.New("protocols.lava-multinode.role: expected a role name")
			}
			facts.Role = s
		case "timeout":
			var t map[string]int64
			if err := resolve(p.v).Decode(&t); err != nil {
				return nil, text, fmt.Errorf("protocols.lava-multinode.timeout: %w", err)
			}
			for k, n := range t {
				unit, ok := unitDuration[k]
				if !ok || n < 0 {
					return nil, text, fmt.Errorf("protocols.lava-multinode.timeout: %s: %d is not a timeout", k, n)
				}
				facts.Timeout += time.Duration(n) * unit
			}
		}
	}
	if facts.Role == "" {
		return nil, text, nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if i == protoIdx && len(kept.Content) == 0 {
			continue
		}
		v := root.Content[i+1]
		if i == protoIdx {
			v = kept
		}
		out.Content = append(out.Content, root.Content[i], v)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(expand(out)); err != nil {
		return nil, text, fmt.Errorf("rendering the sub-job: %w", err)
	}
	_ = enc.Close()
	return facts, buf.Bytes(), nil
}
