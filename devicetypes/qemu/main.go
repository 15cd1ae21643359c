package main

import (
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

var (
	deployMethods = []string{"tmpfs", "nfs"}
	bootMethods   = []string{"qemu", "qemu-nfs"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "qemu", Version: version, Settings: settings,
		Summary:       "QEMU virtual machine on the worker (LAVA's qemu device type): direct kernel or disk image boot",
		DeployMethods: deployMethods, BootMethods: bootMethods,
	}.Parsed()}
}

func main() { sdk.Run(newDriver()) }

func (d driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := d.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		switch a.Method {
		case "tmpfs":
			return drv.Empty(), nil
		case "nfs":
			return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepServe, Name: "nfs-deploy", Serve: &sdk.ServeStep{Roles: []string{"nfsrootfs"}, NFS: true}}}}, nil
		}
		return sdk.Plan{}, drv.Unsupported(d.Name, a, deployMethods)
	case sdk.ActionBoot:
		if !slices.Contains(bootMethods, a.Method) {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
		}
		return d.boot(req, s)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

func (d driver) boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	cmd, err := commandLine(req, s)
	if err != nil {
		return sdk.Plan{}, err
	}
	_, kernel := req.Worker.Artifacts["kernel"]
	tail, err := drv.BootTail(req.Action.Params, s, kernel)
	if err != nil {
		return sdk.Plan{}, err
	}
	// QEMU is a host tool: the worker runs it only where its admin allowed
	// it (lava-worker --allow-tool qemu-system-aarch64@qemu). No shell:
	// the command line is split into arguments here, as LAVA's shell would.
	argv, err := splitWords(strings.Join(cmd, " "))
	if err != nil {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "qemu command line: %v", err)
	}
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "execute-qemu", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: argv[0], Args: argv[1:]}}}}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}

// binary is qemu-system-<arch> as qemu.jinja2 names it.
func binary(arch string) string {
	switch arch {
	case "arm64", "aarch64":
		return "qemu-system-aarch64"
	case "amd64", "x86_64":
		return "qemu-system-x86_64"
	}
	return "qemu-system-" + arch
}

// machines are qemu.jinja2's per-architecture -machine defaults.
var machines = map[string]string{
	"hppa": "hppa", "m68k": "mcf5208evb", "mips": "malta", "mips64": "malta", "nios2": "10m50-ghrd",
	"ppc": "g3beige", "ppc64": "pseries", "sparc": "SS-5", "sparc64": "sun4u", "xtensa": "sim",
}

// options are qemu.jinja2's options for the architecture, in its order.
func options(arch string, s sdk.Values) []string {
	var o []string
	machine := func(def string) string { return "-machine " + or(s.String("machine", ""), def) }
	cpu := func(def string) string { return "-cpu " + or(s.String("cpu", ""), def) }
	if m, ok := machines[arch]; ok {
		o = append(o, machine(m))
	}
	switch arch {
	case "riscv64":
		o = append(o, machine("virt"), cpu("rv64"))
	case "i386":
		o = append(o, cpu("core2duo"), machine("pc"))
	}
	if arch == "arm64" || arch == "aarch64" || arch == "arm" {
		o = append(o, cpu("cortex-a57"), machine("virt"))
		for _, k := range []string{"vga", "serial"} {
			if v := s.String(k, ""); v != "" {
				o = append(o, v)
			}
		}
	} else if !s.Bool("no_kvm", false) {
		o = append(o, "-cpu host", "-enable-kvm")
	}
	return append(o,
		"-nographic",
		"-net nic,"+s.String("model", "model=virtio")+",macaddr="+s.String("mac_addr", "52:54:00:12:34:58")+" -net "+s.String("netdevice", "user"),
		"-m "+s.String("memory", "512"),
		"-monitor "+s.String("monitor", "none"),
	)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// commandLine is LAVA's CallQemuAction command: binary, options, extra
// options, image arguments, and for qemu-nfs the kernel's --append.
func commandLine(req sdk.PlanRequest, s sdk.Values) ([]string, error) {
	arch := s.String("arch", "")
	if arch == "" {
		return nil, sdk.Errorf(sdk.ErrorJob, "Missing 'arch' in job context")
	}
	if !slices.Contains(s.Strings("available_architectures"), arch) {
		return nil, sdk.Errorf(sdk.ErrorJob, "arch %q is not one of this device's available_architectures", arch)
	}
	cmd := append([]string{binary(arch)}, options(arch, s)...)
	cmd = append(cmd, s.Strings("extra_options")...)

	subs := map[string]string{uboot.NFSServerIP: or(req.Worker.NFSServerIP, req.Worker.ServerIP)}
	var args []string
	for _, role := range roles(req.Worker.Artifacts) {
		a := req.Worker.Artifacts[role]
		if a.ImageArg == "" || a.LocalPath == "" {
			continue
		}
		subs["{"+role+"}"] = a.LocalPath
		args = append(args, a.ImageArg)
	}
	for _, a := range uboot.Substitute(args, subs) {
		if strings.Contains(a, "{") && strings.Contains(a, "}") {
			return nil, sdk.Errorf(sdk.ErrorJob, "image_arg %q names a file that was not deployed", a)
		}
		cmd = append(cmd, a)
	}
	if req.Action.Method == "qemu-nfs" {
		root := req.Worker.Artifacts["nfsrootfs"].LocalPath
		if root == "" {
			return nil, sdk.Errorf(sdk.ErrorJob, "boot method qemu-nfs needs an nfsrootfs deployed")
		}
		subs[uboot.NFSRootFS] = root
		nfsroot := uboot.Substitute([]string{"nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard" + s.String("extra_nfsroot_args", "")}, subs)
		if len(nfsroot) != 1 {
			return nil, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {NFS_SERVER_IP}")
		}
		appendArgs := []string{"console=" + s.String("console_device", "ttyAMA0"), "root=/dev/nfs", nfsroot[0] + " rw", uboot.IPArgs(s)}
		cmd = append(cmd, "--append", `"`+strings.Join(appendArgs, " ")+`"`)
	}
	return cmd, nil
}

// roles orders the deployed images: the kernel, initrd and dtb first, then
// the others by name (the worker's artifact map carries no order).
func roles(arts map[string]sdk.Artifact) []string {
	rank := map[string]int{"kernel": 0, "initrd": 1, "ramdisk": 1, "dtb": 2}
	out := make([]string, 0, len(arts))
	for r := range arts {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, iok := rank[out[i]]
		rj, jok := rank[out[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return out[i] < out[j]
	})
	return out
}

// splitWords splits a command line into words as a POSIX shell does for
// plain words, single and double quotes and backslashes (no expansion: LAVA's
// qemu command line has none). It is how image_arg's quoted --append strings
// become one argument.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\\n", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command line")
	}
	return words, nil
}
