package job

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxMetadataEntries bounds the entries MetadataOf returns (a mapping
// expanded through aliases could otherwise make many).
const maxMetadataEntries = 1000

// MetadataOf returns the job's top-level metadata: as LAVA keeps it, a
// flat mapping of names to text values. A value is its YAML scalar text as
// written (version: 1.10 stays "1.10"; null is ""); a nested mapping or
// list, which the submission schema refuses but an older stored definition
// may hold, is flattened with dots ({kernel: {version: 6.1}} gives
// kernel.version, a list's items are numbered from 0). A definition with no
// metadata gives nil; one that is not YAML gives an error.
func MetadataOf(text []byte) (map[string]string, error) {
	if len(text) > MaxSize {
		return nil, fmt.Errorf("definition is %d bytes, over the %d bytes limit", len(text), MaxSize)
	}
	var doc yaml.Node
	if err := safeUnmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	var md *yaml.Node
	for _, p := range pairs(resolve(doc.Content[0])) {
		if p.key == "metadata" {
			md = resolve(p.v)
		}
	}
	return flatMetadata(md)
}

// FlatMetadata is MetadataOf for a parsed definition (no second parse): a
// valid definition's metadata, never nil (empty when it has none).
func (d *Definition) FlatMetadata() map[string]string {
	var md *yaml.Node
	if d != nil {
		md = get(pairs(d.root), "metadata")
	}
	m, err := flatMetadata(md)
	if err != nil || m == nil {
		return map[string]string{}
	}
	return m
}

// flatMetadata flattens the metadata mapping md (nil: none).
func flatMetadata(md *yaml.Node) (map[string]string, error) {
	if md == nil {
		return nil, nil
	}
	md = resolve(md)
	if md.Kind != yaml.MappingNode {
		return nil, nil
	}
	out := map[string]string{}
	var walk func(prefix string, n *yaml.Node, depth int) error
	walk = func(prefix string, n *yaml.Node, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("metadata %q nested too deeply", prefix)
		}
		n = resolve(n)
		child := func(name string) string {
			if prefix == "" {
				return name
			}
			return prefix + "." + name
		}
		switch n.Kind {
		case yaml.MappingNode:
			for _, p := range pairs(n) {
				if err := walk(child(p.key), p.v, depth+1); err != nil {
					return err
				}
			}
			return nil
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if err := walk(child(strconv.Itoa(i)), c, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if len(out) >= maxMetadataEntries {
			return fmt.Errorf("metadata has over %d entries", maxMetadataEntries)
		}
		v := n.Value
		if n.ShortTag() == "!!null" {
			v = ""
		}
		out[storable(prefix)] = storable(v)
		return nil
	}
	if err := walk("", md, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// storable makes a name or value storable as SQL text: a YAML escape may
// give a NUL byte or invalid UTF-8, which PostgreSQL refuses.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
