package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// oracleRender renders device dictionaries as lava-server 2023.01 does
// (jinja2's sandboxed environment, trim_blocks, no autoescape, the
// dictionaries' folder then the device-type templates on the loader's
// path) and prints, per dictionary, the u-boot ramdisk and nfs command
// lists and the boot commands' addresses, or the error.
const oracleRender = `
import json, sys, yaml, jinja2, jinja2.sandbox
devices, types = sys.argv[1:3]
env = jinja2.sandbox.SandboxedEnvironment(
    loader=jinja2.FileSystemLoader([devices, types]), trim_blocks=True, autoescape=False)
out = {}
for name in sys.argv[3:]:
    try:
        doc = yaml.safe_load(env.get_template(name).render())
        ub = doc["actions"]["boot"]["methods"]["u-boot"]
        out[name] = {"ramdisk": ub["ramdisk"]["commands"], "nfs": ub["nfs"]["commands"],
                     "parameters": {k: doc.get("parameters", {}).get(k) for k in ("booti", "bootz", "bootm")},
                     "add_header": doc["actions"]["deploy"]["parameters"].get("add_header"),
                     "uboot": ub.get("parameters") or {},
                     "boot_delay": (doc.get("character_delays") or {}).get("boot", 0),
                     "errors": ((doc.get("constants") or {}).get("u-boot") or {}).get("error-messages") or []}
    except Exception as e:
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
`

// oracleDictionary is the small dictionary every template is rendered
// with: a console connection and a power reset, as a lab's would have.
const oracleDictionary = "{%% extends '%s.jinja2' %%}\n{%% set connection_command = 'telnet localhost 7000' %%}\n{%% set hard_reset_command = 'pduclient --reset' %%}\n"

var extendsRe = regexp.MustCompile(`{%-?\s*extends\s+['"]([^'"]+)\.jinja2['"]`)

// baseOf follows a template's extends chain, written out independently of
// lavatemplate: the last template before base.jinja2 ("" when none).
func baseOf(dir, name string) string {
	for range 32 {
		b, err := os.ReadFile(filepath.Join(dir, name+".jinja2"))
		if err != nil {
			return ""
		}
		m := extendsRe.FindSubmatch(b)
		if m == nil {
			return ""
		}
		if string(m[1]) == "base" {
			return name
		}
		name = string(m[1])
	}
	return ""
}

// lavaSubst is LAVA's substitute(drop=True): a line holding a key whose
// value is empty is dropped, the others get every value.
func lavaSubst(cmds []string, subs map[string]string) []string {
	var out []string
next:
	for _, line := range cmds {
		for k, v := range subs {
			if v == "" && strings.Contains(line, k) {
				continue next
			}
		}
		for k, v := range subs {
			if v != "" {
				line = strings.ReplaceAll(line, k, v)
			}
		}
		out = append(out, line)
	}
	return out
}

type lavaAddrs struct {
	Kernel  string `json:"kernel"`
	Ramdisk string `json:"ramdisk"`
	DTB     string `json:"dtb"`
}

type lavaRendering struct {
	Ramdisk    []string              `json:"ramdisk"`
	NFS        []string              `json:"nfs"`
	Parameters map[string]*lavaAddrs `json:"parameters"`
	Error      string                `json:"error"`
	// The boot method's parameters, the boot character delay and U-Boot's
	// error messages.
	UBoot     map[string]any `json:"uboot"`
	BootDelay any            `json:"boot_delay"`
	Errors    []string       `json:"errors"`
}

// TestLAVATemplatesOracle renders every device-type template of Debian's
// lava-server 2023.01 that ends in base-uboot with LAVA's own Jinja2 and
// compares the ramdisk and NFS command lists, after LAVA's substitution for
// a TFTP job, with this driver's plans for the template imported by
// core/lavatemplate. It prints a table per base and fails below the
// coverage reached (README "Moving a LAVA lab here"). Every template of
// the barebox, depthcharge, fastboot and grub bases must import.
func TestLAVATemplatesOracle(t *testing.T) {
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	verdicts, err := lavatemplate.ImportPaths([]string{types})
	if err != nil {
		t.Fatal(err)
	}
	byBase := map[string][]lavatemplate.Verdict{}
	for _, v := range verdicts {
		if v.Base {
			continue
		}
		if b := baseOf(types, v.Name); b != "" {
			byBase[b] = append(byBase[b], v)
		}
	}
	// Other bases: every template imports.
	for _, b := range []string{"base-barebox", "base-depthcharge", "base-fastboot", "base-grub"} {
		n := 0
		for _, v := range byBase[b] {
			if v.Type == nil {
				t.Errorf("%s: %v", b, v)
				continue
			}
			n++
		}
		t.Logf("%-17s %3d templates, %3d imported", b, len(byBase[b]), n)
		if len(byBase[b]) == 0 {
			t.Errorf("no template of LAVA's package ends in %s", b)
		}
	}

	ub := byBase["base-uboot"]
	devices := t.TempDir()
	args := []string{devices, types}
	for _, v := range ub {
		name := v.Name + "-01.jinja2"
		if err := os.WriteFile(filepath.Join(devices, name), fmt.Appendf(nil, oracleDictionary, v.Name), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	var lava map[string]lavaRendering
	if err := json.Unmarshal(testenv.LAVAPython(t, oracleRender, nil, args...), &lava); err != nil {
		t.Fatal(err)
	}

	var imported, lavaFails, same, bothRefuse [2]int
	var paramsSame int
	var differing []string
	for _, v := range ub {
		r := lava[v.Name+"-01.jinja2"]
		if r.Error != "" {
			lavaFails[0]++
			t.Logf("%s: LAVA's own rendering fails: %s", v.Name, r.Error)
			continue
		}
		if v.Type == nil {
			differing = append(differing, fmt.Sprintf("%-34s refused: %v", v.Name, v.Err))
			continue
		}
		imported[0]++
		if d, err := oracleParameters(t, v, r, fmt.Sprintf(oracleDictionary, v.Name)); errors.Is(err, errBothRefuse) {
			// counted with the lists
		} else if err != nil {
			differing = append(differing, fmt.Sprintf("%-34s %-7s %v", v.Name, "params", err))
		} else if d != "" {
			differing = append(differing, fmt.Sprintf("%-34s %-7s %s", v.Name, "params", d))
		} else {
			paramsSame++
		}
		for i, list := range []string{uboot.ListRamdisk, uboot.ListNFS} {
			want, got, err := oracleCase(t, v, r, list, fmt.Sprintf(oracleDictionary, v.Name))
			if errors.Is(err, errBothRefuse) {
				bothRefuse[i]++
				continue
			}
			if err != nil {
				differing = append(differing, fmt.Sprintf("%-34s %-7s %v", v.Name, list, err))
				continue
			}
			if d := firstDiff(want, got); d != "" {
				differing = append(differing, fmt.Sprintf("%-34s %-7s %s", v.Name, list, d))
				continue
			}
			same[i]++
		}
	}
	total := len(ub)
	t.Logf("%-17s %9s %9s %11s %9s %13s %9s", "base", "templates", "imported", "LAVA fails", "list", "identical", "no TFTP boot in either")
	for i, list := range []string{uboot.ListRamdisk, uboot.ListNFS} {
		t.Logf("%-17s %9d %9d %11d %9s %4d (%.1f%%) %9d", "base-uboot", total, imported[0], lavaFails[0], list, same[i], pct(same[i], total), bothRefuse[i])
	}
	t.Logf("base-uboot: prompts, interrupt, boot character delay and error messages identical for %d/%d (%.1f%%)", paramsSame, total, pct(paramsSame, total))
	sort.Strings(differing)
	for _, d := range differing {
		t.Logf("  differs: %s", d)
	}
	// The coverage reached (README): fail below it.
	const minRamdisk, minNFS = 225, 225
	if same[0] < minRamdisk || same[1] < minNFS {
		t.Errorf("identical command lists fell below the coverage reached: ramdisk %d < %d or nfs %d < %d", same[0], minRamdisk, same[1], minNFS)
	}
	const minParams = 225
	if paramsSame < minParams {
		t.Errorf("identical parameters fell below the coverage reached: %d < %d", paramsSame, minParams)
	}
	if total < 200 {
		t.Errorf("only %d templates end in base-uboot: is the package complete?", total)
	}
}

func pct(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return 100 * float64(n) / float64(d)
}

// oracleCase returns LAVA's substituted list and this driver's for a job
// booting the template's preferred kernel type (booti, else bootz, else
// bootm, as LAVA's map_kernel_uboot would pick for Image, zImage, uImage).
func oracleCase(t *testing.T, v lavatemplate.Verdict, r lavaRendering, list, dictText string) ([]string, []string, error) {
	var cmd, kernelType, kernelFile string
	var a *lavaAddrs
	for _, c := range []struct{ cmd, typ, file string }{{"booti", "image", "Image"}, {"bootz", "zimage", "zImage"}, {"bootm", "uimage", "uImage"}} {
		if p := r.Parameters[c.cmd]; p != nil {
			cmd, kernelType, kernelFile, a = c.cmd, c.typ, c.file, p
			break
		}
	}
	nfs := list == uboot.ListNFS
	if a == nil {
		// LAVA cannot boot a TFTP kernel on it: this project must refuse too.
		vals, err := oracleSettings(v, dictText)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range []struct{ typ, file string }{{"image", "Image"}, {"zimage", "zImage"}, {"uimage", "uImage"}} {
			_, resp := goldentest.Plan(t, driver(), goldentest.BootRequest(v.Name, vals, list, goldentest.Artifacts(k.typ, k.file, !nfs, true, false, nfs)))
			if resp.Error == nil {
				return nil, nil, fmt.Errorf("LAVA's rendering has no booti, bootz or bootm addresses, but a %s kernel gets a plan here", k.typ)
			}
		}
		return nil, nil, errBothRefuse
	}
	arts := goldentest.Artifacts(kernelType, kernelFile, !nfs, true, false, nfs)
	rd := a.Ramdisk
	if nfs {
		rd = "-"
	}
	subs := map[string]string{
		"{SERVER_IP}": goldentest.ServerIP, "{KERNEL}": arts["kernel"].TFTPPath, "{RAMDISK}": arts["ramdisk"].TFTPPath,
		"{DTB}": arts["dtb"].TFTPPath, "{TEE}": "", "{KERNEL_ADDR}": a.Kernel, "{RAMDISK_ADDR}": rd, "{DTB_ADDR}": a.DTB,
		"{BOOTX}": cmd + " " + a.Kernel + " " + rd + " " + a.DTB,
	}
	if nfs {
		subs["{NFSROOTFS}"], subs["{NFS_SERVER_IP}"] = goldentest.NFSRootFS, goldentest.ServerIP
	}
	src := r.Ramdisk
	if nfs {
		src = r.NFS
	}
	want := lavaSubst(src, subs)

	vals, err := oracleSettings(v, dictText)
	if err != nil {
		return nil, nil, err
	}
	raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest(v.Name, vals, list, arts))
	if resp.Error != nil {
		return want, nil, fmt.Errorf("plan refused: %s", strings.TrimSpace(string(raw)))
	}
	return want, goldentest.Commands(t, resp.Plan), nil
}

// firstDiff describes the first differing line ("" when equal).
func firstDiff(want, got []string) string {
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			return fmt.Sprintf("line %d: LAVA %q, here %q", i+1, w, g)
		}
	}
	return ""
}

// errBothRefuse: neither LAVA nor this driver boots a TFTP kernel there.
var errBothRefuse = errors.New("no TFTP boot in either")

// oracleSettings are the settings the scheduler records for a device with
// this dictionary on the imported type (stored and read back).
func oracleSettings(v lavatemplate.Verdict, dictText string) (sdk.Values, error) {
	dict, err := devdict.Parse([]byte(dictText))
	if err != nil {
		return nil, err
	}
	stored, err := v.Type.Marshal()
	if err != nil {
		return nil, err
	}
	settings, err := lavatemplate.MergeSettings(stored, nil, nil, dict.Values)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	var vals sdk.Values
	return vals, json.Unmarshal(b, &vals)
}

// oracleParameters compares the boot's U-Boot parameters LAVA's rendering
// gives (bootloader_prompt, interrupt_prompt, interrupt_char,
// needs_interrupt, the boot character delay, U-Boot's error messages) with
// the steps of this driver's ramdisk plan ("" when they agree).
func oracleParameters(t *testing.T, v lavatemplate.Verdict, r lavaRendering, dictText string) (string, error) {
	vals, err := oracleSettings(v, dictText)
	if err != nil {
		return "", err
	}
	var arts map[string]sdk.Artifact
	for _, c := range []struct{ cmd, typ, file string }{{"booti", "image", "Image"}, {"bootz", "zimage", "zImage"}, {"bootm", "uimage", "uImage"}} {
		if r.Parameters[c.cmd] != nil {
			arts = goldentest.Artifacts(c.typ, c.file, true, true, false, false)
			break
		}
	}
	if arts == nil {
		return "", errBothRefuse // no TFTP boot in either (checked with the lists)
	}
	raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest(v.Name, vals, uboot.ListRamdisk, arts))
	if resp.Error != nil {
		return "", fmt.Errorf("plan refused: %s", strings.TrimSpace(string(raw)))
	}
	var intr *sdk.InterruptStep
	var cmds *sdk.CommandsStep
	for _, s := range resp.Plan.Steps {
		if s.Interrupt != nil {
			intr = s.Interrupt
		}
		if s.Commands != nil {
			cmds = s.Commands
		}
	}
	if cmds == nil {
		return "no commands step", nil
	}
	str := func(k string) string { return fmt.Sprint(r.UBoot[k]) }
	if str("bootloader_prompt") != cmds.Prompt {
		return fmt.Sprintf("bootloader_prompt: LAVA %q, here %q", str("bootloader_prompt"), cmds.Prompt), nil
	}
	if needs, _ := r.UBoot["needs_interrupt"].(bool); needs != (intr != nil) {
		return fmt.Sprintf("needs_interrupt: LAVA %v, here an interrupt step: %v", needs, intr != nil), nil
	}
	if intr != nil {
		if str("interrupt_prompt") != intr.Prompt {
			return fmt.Sprintf("interrupt_prompt: LAVA %q, here %q", str("interrupt_prompt"), intr.Prompt), nil
		}
		if str("interrupt_char") != intr.Char {
			return fmt.Sprintf("interrupt_char: LAVA %q, here %q", str("interrupt_char"), intr.Char), nil
		}
	}
	if fmt.Sprint(r.BootDelay) != fmt.Sprint(cmds.CharDelayMS) {
		return fmt.Sprintf("boot character delay: LAVA %v, here %d", r.BootDelay, cmds.CharDelayMS), nil
	}
	if strings.Join(r.Errors, "|") != strings.Join(cmds.Errors, "|") {
		return fmt.Sprintf("error messages: LAVA %q, here %q", r.Errors, cmds.Errors), nil
	}
	return "", nil
}
