package devdict

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Formats of a dictionary.
const (
	FormatJinja2 = "jinja2"
	FormatYAML   = "yaml"
)

// MaxSize bounds the dictionary text Parse accepts.
const MaxSize = 1 << 20

// Dictionary is a parsed device dictionary.
type Dictionary struct {
	// Extends is the device type, without ".jinja2".
	Extends string
	// Values are the settings the dictionary sets.
	Values map[string]any
	// Format is FormatJinja2 or FormatYAML.
	Format string
	// Warnings say what was read but has no value (a `set` of an undefined
	// name, which jinja2 treats as unset).
	Warnings []string
}

// Parse reads a dictionary in either form; the form is recognised from the
// first thing in the text ("{%" or "{#" is jinja2).
func Parse(text []byte) (*Dictionary, error) {
	if len(text) > MaxSize {
		return nil, fmt.Errorf("device dictionary: %d bytes, more than the %d allowed", len(text), MaxSize)
	}
	trimmed := bytes.TrimSpace(text)
	if bytes.HasPrefix(trimmed, []byte("{%")) || bytes.HasPrefix(trimmed, []byte("{#")) {
		d, err := parseJinja(string(text))
		if err != nil {
			return nil, fmt.Errorf("device dictionary (jinja2): %w", err)
		}
		return d, nil
	}
	d, err := parseYAML(text)
	if err != nil {
		return nil, fmt.Errorf("device dictionary (yaml): %w", err)
	}
	return d, nil
}

// Merge layers mappings: a key of a later layer replaces the key of an
// earlier one (values are not merged deeply). Nil layers are skipped.
func Merge(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		maps.Copy(out, l)
	}
	return out
}

var deviceTypeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

func checkExtends(name string) (string, error) {
	name = strings.TrimSuffix(name, ".jinja2")
	if !deviceTypeName.MatchString(name) {
		return "", fmt.Errorf("extends %q: not a device type name", name)
	}
	return name, nil
}

func parseYAML(text []byte) (*Dictionary, error) {
	var doc struct {
		Extends  string         `yaml:"extends"`
		Settings map[string]any `yaml:"settings"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("want a mapping with extends and settings: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("more than one YAML document")
	}
	if doc.Extends == "" {
		return nil, errors.New("no extends: name the device type (extends: soca9)")
	}
	name, err := checkExtends(doc.Extends)
	if err != nil {
		return nil, err
	}
	if doc.Settings == nil {
		doc.Settings = map[string]any{}
	}
	for k, v := range doc.Settings {
		n, err := normalize(v)
		if err != nil {
			return nil, fmt.Errorf("settings.%s: %w", k, err)
		}
		doc.Settings[k] = n
	}
	return &Dictionary{Extends: name, Values: doc.Settings, Format: FormatYAML}, nil
}

// normalize turns yaml.v3's decoded values into string-keyed maps.
func normalize(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %v is not a string", k)
			}
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			out[ks] = n
		}
		return out, nil
	case []any:
		for i, x := range t {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
		return t, nil
	}
	return v, nil
}
