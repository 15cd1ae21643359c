package testshell

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed scripts/*
var scriptFS embed.FS

// scriptNames lists the embedded scripts, sorted.
func scriptNames() ([]string, error) {
	entries, err := fs.ReadDir(scriptFS, "scripts")
	if err != nil {
		return nil, fmt.Errorf("read embedded scripts: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// script returns the text of one embedded script with its first line
// replaced by `#!<shell>` and vars (already quoted assignments) inserted
// after the blank line that follows it.
func script(name, shell string, vars []string) ([]byte, error) {
	raw, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		return nil, fmt.Errorf("read embedded script %s: %w", name, err)
	}
	text := string(raw)
	_, body, ok := strings.Cut(text, "\n")
	if !ok || !strings.HasPrefix(text, "#!") {
		return nil, fmt.Errorf("embedded script %s has no #! line", name)
	}
	body = strings.TrimPrefix(body, "\n")
	var b strings.Builder
	b.WriteString("#!" + shell + "\n\n")
	for _, v := range vars {
		b.WriteString(v + "\n")
	}
	b.WriteString(body)
	return []byte(b.String()), nil
}
