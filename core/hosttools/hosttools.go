package hosttools

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/sdk"
)

// Rule allows one tool.
type Rule struct {
	// Name is the tool's name as steps give it (a bare program name).
	Name string `yaml:"name"`
	// Path is the program the name runs; "" = Name looked up in PATH.
	Path string `yaml:"path,omitempty"`
	// DeviceTypes and Devices say where the tool may run: a device of one
	// of DeviceTypes, or a device (hostname) of Devices. Both empty means
	// every device of this worker.
	DeviceTypes []string `yaml:"device_types,omitempty"`
	Devices     []string `yaml:"devices,omitempty"`
}

// everywhere reports whether the rule allows the tool on every device.
func (r Rule) everywhere() bool { return len(r.DeviceTypes) == 0 && len(r.Devices) == 0 }

func (r Rule) allows(device, deviceType string) bool {
	return r.everywhere() || slices.Contains(r.DeviceTypes, deviceType) || (device != "" && slices.Contains(r.Devices, device))
}

func (r Rule) where() string {
	if r.everywhere() {
		return "every device"
	}
	var parts []string
	if len(r.DeviceTypes) > 0 {
		parts = append(parts, "device types "+strings.Join(r.DeviceTypes, ", "))
	}
	if len(r.Devices) > 0 {
		parts = append(parts, "devices "+strings.Join(r.Devices, ", "))
	}
	return strings.Join(parts, " and ")
}

// Policy is an allow list. The zero value and nil allow nothing.
type Policy struct {
	rules map[string]Rule
}

// New returns a policy of rules; a rule for a name already listed widens it
// (its device types and devices are added; a path must agree).
func New(rules ...Rule) (*Policy, error) {
	p := &Policy{rules: map[string]Rule{}}
	for _, r := range rules {
		if !sdk.ValidToolName(r.Name) {
			return nil, fmt.Errorf("host tool %q: not a bare program name (letters, digits, '.', '_', '+', '-')", r.Name)
		}
		old, ok := p.rules[r.Name]
		if !ok {
			p.rules[r.Name] = r
			continue
		}
		if old.Path != r.Path && old.Path != "" && r.Path != "" {
			return nil, fmt.Errorf("host tool %q: two paths, %s and %s", r.Name, old.Path, r.Path)
		}
		if r.Path != "" {
			old.Path = r.Path
		}
		if old.everywhere() || r.everywhere() {
			old.DeviceTypes, old.Devices = nil, nil
		} else {
			old.DeviceTypes = union(old.DeviceTypes, r.DeviceTypes)
			old.Devices = union(old.Devices, r.Devices)
		}
		p.rules[r.Name] = old
	}
	return p, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// ParseFlag parses one --allow-tool value: NAME (every device) or
// NAME@TARGET[,TARGET...], where a target is a device type or a device's
// hostname (a device type and a device rarely share a name; when they do,
// both are allowed).
func ParseFlag(v string) (Rule, error) {
	name, targets, found := strings.Cut(strings.TrimSpace(v), "@")
	r := Rule{Name: name}
	if !sdk.ValidToolName(name) {
		return r, fmt.Errorf("--allow-tool %q: %q is not a bare program name (want NAME or NAME@DEVICE_TYPE_OR_DEVICE[,...])", v, name)
	}
	if found {
		for _, t := range strings.Split(targets, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				return r, fmt.Errorf("--allow-tool %q: empty device type or device after @", v)
			}
			r.DeviceTypes = append(r.DeviceTypes, t)
			r.Devices = append(r.Devices, t)
		}
	}
	return r, nil
}

// File is the YAML form of an allow list (lava-worker --tools-file):
//
//	tools:
//	  - name: qemu-system-aarch64
//	    device_types: [qemu]
//	  - name: uuu
//	    path: /opt/nxp/bin/uuu
//	    devices: [imx8mn-01, imx8mn-02]
type File struct {
	Tools []Rule `yaml:"tools"`
}

// ParseFile parses an allow-list file's text; unknown keys are errors, so a
// misspelt key does not silently allow less or more than meant.
func ParseFile(b []byte) ([]Rule, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if err.Error() == "EOF" {
			return nil, nil
		}
		return nil, err
	}
	for i, r := range f.Tools {
		if !sdk.ValidToolName(r.Name) {
			return nil, fmt.Errorf("tools[%d]: name %q is not a bare program name", i, r.Name)
		}
	}
	return f.Tools, nil
}

// Load builds a policy from --allow-tool values and an optional file.
func Load(flags []string, file string) (*Policy, error) {
	var rules []Rule
	for _, f := range flags {
		r, err := ParseFlag(f)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("tools file: %w", err)
		}
		fr, err := ParseFile(b)
		if err != nil {
			return nil, fmt.Errorf("tools file %s: %w", file, err)
		}
		rules = append(rules, fr...)
	}
	return New(rules...)
}

// DeniedError is a tool the policy does not allow for a device.
type DeniedError struct {
	Tool, Device, DeviceType string
	// Rule is the tool's rule when it is allowed elsewhere.
	Rule *Rule
}

func (e *DeniedError) Error() string {
	target := "device " + e.Device + " (device type " + e.DeviceType + ")"
	if e.Rule != nil {
		return fmt.Sprintf("host tool %q is allowed on this worker for %s, not for %s", e.Tool, e.Rule.where(), target)
	}
	return fmt.Sprintf("host tool %q is not allowed on this worker for %s: its admin allows it with `lava-worker --allow-tool %s@%s` (or a --tools-file entry)", e.Tool, target, e.Tool, e.DeviceType)
}

// Resolve returns the program to run for tool on a device, or why not.
func (p *Policy) Resolve(tool, device, deviceType string) (string, error) {
	if !sdk.ValidToolName(tool) {
		return "", fmt.Errorf("host tool %q: not a bare program name", tool)
	}
	var r Rule
	ok := false
	if p != nil {
		r, ok = p.rules[tool]
	}
	if !ok {
		return "", &DeniedError{Tool: tool, Device: device, DeviceType: deviceType}
	}
	if !r.allows(device, deviceType) {
		return "", &DeniedError{Tool: tool, Device: device, DeviceType: deviceType, Rule: &r}
	}
	if r.Path != "" {
		return r.Path, nil
	}
	path, err := exec.LookPath(tool)
	if err != nil {
		return "", fmt.Errorf("host tool %q is allowed but not found in the worker's PATH: %w", tool, err)
	}
	return path, nil
}

// Allowed reports whether tool may run on the device (without looking for
// the program).
func (p *Policy) Allowed(tool, device, deviceType string) bool {
	if p == nil {
		return false
	}
	r, ok := p.rules[tool]
	return ok && r.allows(device, deviceType)
}

// String lists the allowed tools for logs: "qemu-system-aarch64 (device types qemu), sh (every device)".
func (p *Policy) String() string {
	if p == nil || len(p.rules) == 0 {
		return "none"
	}
	names := make([]string, 0, len(p.rules))
	for n := range p.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " (" + p.rules[n].where() + ")"
	}
	return strings.Join(parts, ", ")
}
