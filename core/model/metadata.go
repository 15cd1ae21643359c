package model

import (
	"maps"
	"slices"
)

// MetadataList is a job's metadata in LAVA's shape (TestJob's metadata
// dict as REST v0.2 metadata/, XML-RPC results.get_testjob_metadata and
// notification callbacks give it): a list of one-entry {name: value}
// mappings, here sorted by name; empty, never nil, when there is none.
func MetadataList(m map[string]string) []map[string]string {
	out := make([]map[string]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, map[string]string{k: m[k]})
	}
	return out
}
