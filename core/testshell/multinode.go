package testshell

// Issue 21: the multinode API in the test shell: lava-send, lava-wait,
// lava-wait-all, lava-sync, lava-role, lava-group and lava-self in the
// overlay's bin/ of a multinode sub-job, and the parser's reading of
// their console lines.

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed multinode/*
var multinodeFS embed.FS

// MultinodeCache is where lava-wait, lava-wait-all and lava-sync write the
// key=value pairs they receive (LAVA's /tmp/lava_multi_node_cache.txt).
const MultinodeCache = "/tmp/lava_multi_node_cache.txt"

// Multinode are a sub-job's facts for the multinode scripts.
type Multinode struct {
	// Role is the sub-job's role, Self its name in the group (its job id).
	Role, Self string
	// Members are the group's sub-jobs, in group order.
	Members []MultinodeMember
}

// MultinodeMember is one sub-job of the group.
type MultinodeMember struct{ ID, Role string }

// multinodeFiles adds the multinode scripts to bin/ with their variables.
func multinodeFiles(t tree, shell string, m *Multinode) error {
	for _, s := range append([]string{m.Role, m.Self}, flatMembers(m)...) {
		if s == "" || strings.ContainsAny(s, " \t\r\n'\"\\$`%") {
			return fmt.Errorf("multinode: bad role or id %q", s)
		}
	}
	entries, err := fs.ReadDir(multinodeFS, "multinode")
	if err != nil {
		return fmt.Errorf("read embedded multinode scripts: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var group strings.Builder
	for _, mb := range m.Members {
		group.WriteString(`\t` + mb.ID + `\t` + mb.Role + `\n`)
	}
	for _, name := range names {
		raw, err := multinodeFS.ReadFile("multinode/" + name)
		if err != nil {
			return fmt.Errorf("read embedded script %s: %w", name, err)
		}
		_, body, ok := strings.Cut(string(raw), "\n")
		if !ok {
			return fmt.Errorf("embedded script %s has no #! line", name)
		}
		vars := []string{"LAVA_MULTI_NODE_CACHE=${LAVA_MULTI_NODE_CACHE:-" + ShellQuote(MultinodeCache) + "}"}
		switch name {
		case "lava-group", "lava-role":
			vars = append(vars, "LAVA_GROUP="+ShellQuote(group.String()), "TARGET_ROLE="+ShellQuote(m.Role))
		case "lava-self":
			vars = append(vars, "LAVA_HOSTNAME="+ShellQuote(m.Self))
		}
		var b strings.Builder
		b.WriteString("#!" + shell + "\n\n")
		for _, v := range vars {
			b.WriteString(v + "\n")
		}
		b.WriteString(strings.TrimPrefix(body, "\n"))
		t.file("bin/"+name, 0o755, []byte(b.String()))
	}
	return nil
}

func flatMembers(m *Multinode) []string {
	var out []string
	for _, mb := range m.Members {
		out = append(out, mb.ID, mb.Role)
	}
	return out
}

var multinodeRE = regexp.MustCompile(`<LAVA_MULTI_NODE> <LAVA_(\S+) ([^>]+)>`)

// MultinodeCall is a multinode API call read on the console.
type MultinodeCall struct {
	// API is SEND, WAIT, WAIT_ALL or SYNC.
	API       string
	MessageID string
	// Data are the key=value pairs of a SEND.
	Data map[string]string
	// Role is the role a WAIT_ALL waits for ("" = all).
	Role string
}

// ParseMultinodeCall reads the Text of a KindMultinode record.
func ParseMultinodeCall(text string) (MultinodeCall, error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return MultinodeCall{}, fmt.Errorf("malformed multinode call %q", text)
	}
	c := MultinodeCall{API: f[0], MessageID: f[1]}
	switch c.API {
	case "SEND":
		for _, kv := range f[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return c, fmt.Errorf("lava-send %s: %q is not key=value", c.MessageID, kv)
			}
			if c.Data == nil {
				c.Data = map[string]string{}
			}
			c.Data[k] = v
		}
	case "WAIT_ALL":
		if len(f) > 2 {
			c.Role = strings.TrimPrefix(f[2], "role=")
		}
	case "WAIT", "SYNC":
	default:
		return c, fmt.Errorf("unknown multinode call LAVA_%s", c.API)
	}
	return c, nil
}

// multinode reads a <LAVA_MULTI_NODE> line.
func (p *Parser) multinode(line string, n int64, out []Record) []Record {
	for _, m := range multinodeRE.FindAllStringSubmatch(line, -1) {
		out = append(out, Record{Kind: KindMultinode, Line: n, Text: m[1] + " " + m[2], Suite: p.curID})
	}
	return out
}
