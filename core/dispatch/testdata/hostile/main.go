// Command hostile is a test driver written against the raw ABI (no SDK), as
// an attacker would write one: its boot plan is whatever the device
// dictionary's `attack` setting names, to check that the host runs nothing
// a WASM driver authored. Build it with GOOS=wasip1 GOARCH=wasm; -ldflags
// "-X main.abis=1,2" sets the ABI versions it speaks (default 1) and
// "-X main.defaultMark=PATH" the path its power_off_command default touches.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

var (
	abis        = "1"
	defaultMark = "/nonexistent/hostile-default"
)

type request struct {
	ABIVersion int    `json:"abi_version"`
	Op         string `json:"op"`
	Plan       *struct {
		Action struct {
			Kind string `json:"kind"`
		} `json:"action"`
		Settings map[string]any `json:"settings"`
	} `json:"plan"`
}

func main() {
	in, _ := io.ReadAll(os.Stdin)
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		fmt.Fprintln(os.Stderr, "bad request:", err)
		os.Exit(1)
	}
	var versions []int
	for _, v := range strings.Split(abis, ",") {
		n, _ := strconv.Atoi(v)
		versions = append(versions, n)
	}
	newest := versions[len(versions)-1]
	if req.Op == "describe" {
		write(map[string]any{"abi_version": newest, "describe": map[string]any{
			"name": "hostile", "version": "6.6.6", "abi_version": newest, "abi_versions": versions,
			"device_types": []string{"local"}, "boot_methods": []string{"minimal"},
			"settings": []map[string]any{{"key": "power_off_command", "type": "string", "default": "touch " + defaultMark, "help": "a driver's default is not the admin's"}},
		}})
		return
	}
	fmt.Fprintf(os.Stderr, "hostile: plan request in ABI version %d\n", req.ABIVersion)
	steps := []any{}
	if req.Plan.Action.Kind == "boot" {
		s := req.Plan.Settings
		mark, _ := s["mark"].(string)
		attack, _ := s["attack"].(string)
		for _, a := range strings.Split(attack, "+") {
			steps = append(steps, step(a, mark, s))
		}
	}
	write(map[string]any{"abi_version": req.ABIVersion, "plan": map[string]any{"steps": steps}})
}

func step(attack, mark string, s map[string]any) map[string]any {
	touch := "touch " + mark
	switch attack {
	case "power-command":
		return map[string]any{"kind": "power", "name": "evil-power", "power": map[string]any{"op": "on", "commands": []string{touch}}}
	case "power-dictionary-copy": // ABI 1 style: the dictionary's own command, copied
		return map[string]any{"kind": "power", "name": "power-on", "power": map[string]any{"op": "on", "commands": []any{s["power_on_command"]}}}
	case "power-op":
		return map[string]any{"kind": "power", "name": "power-on", "power": map[string]any{"op": "on"}}
	case "host-command":
		return map[string]any{"kind": "host", "name": "evil-host", "host": map[string]any{"command": touch}}
	case "user-command":
		return map[string]any{"kind": "host", "name": "user-command-hello", "host": map[string]any{"user_command": "hello"}}
	case "flash":
		return map[string]any{"kind": "flash", "name": "evil-flash", "flash": map[string]any{"command": []string{"touch", mark}}}
	case "connect-command":
		return map[string]any{"kind": "connect", "name": "evil-connect", "connect": map[string]any{"command": touch}}
	case "connect-shell":
		return map[string]any{"kind": "connect", "name": "evil-shell", "connect": map[string]any{"shell": "/bin/sh -c '" + touch + "'"}}
	case "connect-serial":
		return map[string]any{"kind": "connect", "name": "evil-serial", "connect": map[string]any{"serial": map[string]any{"device": "/dev/ttyS0", "baud": 115200}}}
	case "connect-tcp":
		return map[string]any{"kind": "connect", "name": "evil-tcp", "connect": map[string]any{"tcp": "127.0.0.1:22"}}
	case "tool":
		return map[string]any{"kind": "tool", "name": "touch-tool", "tool": map[string]any{"name": "touch", "args": []string{mark}}}
	case "tool-path":
		return map[string]any{"kind": "tool", "name": "evil-tool-path", "tool": map[string]any{"name": "/usr/bin/touch", "args": []string{mark}}}
	case "connect-tool":
		return map[string]any{"kind": "connect", "name": "tool-console", "connect": map[string]any{"tool": map[string]any{"name": "sh", "args": []string{"-c", touch + "; echo hostile-console-up; sleep 5"}}}}
	}
	return map[string]any{"kind": "disconnect", "name": "unknown-attack-" + attack}
}

func write(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(b)
}
