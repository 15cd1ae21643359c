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
	// Connection, HostRole, ExpectRole and Request are the sub-job's role's
	// fields when it is a connection role (LAVA's dynamic connection, e.g.
	// connection: ssh, a guest with no device); "" otherwise.
	Connection, HostRole, ExpectRole, Request string
}

// connectionFields reads a connection role's fields from the roles map of
// the lava-multinode protocol.
func (f *SubJobFacts) connectionFields(mn *yaml.Node) {
	roles := get(pairs(mn), "roles")
	if roles == nil || resolve(roles).Kind != yaml.MappingNode {
		return
	}
	body := get(pairs(resolve(roles)), f.Role)
	if body == nil || resolve(body).Kind != yaml.MappingNode {
		return
	}
	bp := pairs(resolve(body))
	for key, dst := range map[string]*string{"connection": &f.Connection, "host_role": &f.HostRole, "expect_role": &f.ExpectRole, "request": &f.Request} {
		if n := get(bp, key); n != nil {
			*dst, _ = str(n)
		}
	}
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
	facts.connectionFields(mn)
	out := &yaml.Node{Kind: yaml.MappingNode}
	if facts.Connection != "" && !hasKey(root, "device_type") {
		// A connection role runs with the driver of its connection
		// (connection: ssh → the ssh device type).
		out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "device_type"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: facts.Connection})
	}
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
