package main

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/sdk"
)

// deployUUU plans deploy `to: uuu`: the worker downloads the images (a
// `boot` image is required); nothing touches the board until the boot.
func deployUUU(req sdk.PlanRequest) ([]sdk.Step, error) {
	names, err := images(req.Action)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, "boot") {
		return nil, sdk.Errorf(sdk.ErrorJob, "deploy to uuu: a `boot` image is required, the images are %v", names)
	}
	return nil, nil
}

var (
	otgPath    = regexp.MustCompile(`^\d+:\d+$`)
	bcuBoardID = regexp.MustCompile(`^\d+-(\d+|\.)+$`)
	// placeholder is a {name} of a uuu command: an image of the deploy.
	placeholder = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)
)

// uuuCommand is one entry of a uuu boot's `commands` list: {uuu: ...} or
// {bcu: ...} (or another uuu protocol such as SDP:, FB:, passed to uuu as
// "PROTOCOL: command").
type uuuCommand struct {
	protocol, cmd string
}

func uuuCommands(a sdk.Action) ([]uuuCommand, error) {
	raw, ok := a.Params["commands"].([]any)
	if !ok || len(raw) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method uuu needs `commands`: a list of {uuu: ...} or {bcu: ...} entries")
	}
	var out []uuuCommand
	for i, e := range raw {
		m, ok := e.(map[string]any)
		if !ok {
			if v, ok2 := e.(sdk.Values); ok2 {
				m, ok = map[string]any(v), true
			}
		}
		if !ok || len(m) == 0 {
			return nil, sdk.Errorf(sdk.ErrorJob, "uuu commands[%d]: want a mapping such as {uuu: -b sd {boot}}, got %T", i, e)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, ok := m[k].(string)
			if !ok {
				return nil, sdk.Errorf(sdk.ErrorJob, "uuu commands[%d].%s: want a string, got %T", i, k, m[k])
			}
			out = append(out, uuuCommand{protocol: k, cmd: c})
		}
	}
	return out, nil
}

// bootUUU plans boot `method: uuu` as LAVA's uuu-boot-retry does: reset
// the board, check that it is in USB serial download mode (`uuu -m PATH
// BOOT`, 10 s), reset it again, run the job's uuu and bcu commands with the
// images for their {name} placeholders, then open the console.
//
// When the check fails LAVA corrupts the boot media from U-Boot
// (uuu_corrupt_boot_media_command) before the second reset: a plan does not
// branch, so the check's failure is logged and the commands run after the
// reset all the same (a board whose boot media boots before serial download
// fails at its first uuu command).
func bootUUU(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	a := req.Action
	cmds, err := uuuCommands(a)
	if err != nil {
		return nil, err
	}
	otg := s.String("uuu_usb_otg_path", "")
	if otg == "" {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "uuu_usb_otg_path is not defined in the device dictionary")
	}
	if !otgPath.MatchString(otg) {
		return nil, sdk.Errorf(sdk.ErrorJob, "uuu_usb_otg_path %q does not match uuu's path pattern BUS:PORT (e.g. 2:143)", otg)
	}
	r, err := newRunner(a, s, s.String("uuu_docker_image", ""))
	if err != nil {
		return nil, err
	}
	if r.engine != "" {
		r.runOptions = []string{"-t", "--privileged", "--volume=/dev:/dev", "--net=host"}
		r.devices = nil // /dev is mounted whole, as LAVA does
	}
	// {name} placeholders: the deployed images.
	files := map[string]string{}
	for name, art := range req.Worker.Artifacts {
		if art.LocalPath != "" {
			files[name] = art.LocalPath
		}
	}
	boot, ok := files["boot"]
	if !ok {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method uuu needs the `boot` image of a deploy to uuu")
	}
	var mounts []string
	for _, n := range slices.Sorted(mapKeys(files)) {
		mounts = append(mounts, files[n])
	}
	steps := r.prepare()
	steps = append(steps, power(sdk.PowerReset, "reset-device"))
	check := r.step("check-serial-availability", []string{"uuu", "-m", otg, boot}, mounts...)
	check.TimeoutMS = 10_000
	check.OnFailure = &sdk.Failure{Policy: sdk.FailIgnore}
	steps = append(steps, check, power(sdk.PowerReset, "reset-device"))

	hasBCU := false
	for _, c := range cmds {
		hasBCU = hasBCU || c.protocol == "bcu"
	}
	name, id := s.String("bcu_board_name", ""), s.String("bcu_board_id", "")
	if hasBCU {
		if name == "" {
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "the uuu commands use bcu and bcu_board_name is not defined in the device dictionary")
		}
		if !bcuBoardID.MatchString(id) {
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "bcu_board_id %q is not a bcu board id (e.g. 2-1.3)", id)
		}
	}
	for i, c := range cmds {
		text, err := substitute(c.cmd, files)
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorJob, "uuu commands[%d]: %v", i, err)
		}
		// LAVA splits the command line on single spaces.
		words := strings.Split(text, " ")
		label := "uuu-boot"
		switch c.protocol {
		case "bcu":
			// bcu runs on the worker, never in the container (LAVA's run_cmd).
			argv := append(words, "-board="+name, "-id="+id)
			steps = append(steps, tool("bcu", label, argv...))
		case "uuu":
			steps = append(steps, r.step(label, append([]string{"uuu", "-m", otg}, words...), mounts...))
		default:
			argv := append([]string{"uuu", "-m", otg, c.protocol + ":"}, words...)
			steps = append(steps, r.step(label, argv, mounts...))
		}
	}
	steps = append(steps, connect())
	tail, err := promptsTail(a, s)
	if err != nil {
		return nil, err
	}
	return append(steps, tail...), nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// substitute replaces each {name} of cmd by the image's path (LAVA's
// safe_dict_format: an unknown {name} is an error here rather than left).
func substitute(cmd string, files map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(cmd, func(m string) string {
		n := m[1 : len(m)-1]
		if p, ok := files[n]; ok {
			return p
		}
		missing = append(missing, n)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q names {%s}, which no deploy gave (images: %v)", cmd, strings.Join(missing, "}, {"), slices.Sorted(mapKeys(files)))
	}
	return out, nil
}

// deployRecovery plans deploy `to: recovery`: the worker downloads the
// images; the recovery boot switches the board.
func deployRecovery(req sdk.PlanRequest) ([]sdk.Step, error) {
	if _, err := images(req.Action); err != nil {
		return nil, err
	}
	return nil, nil
}

// bootRecovery plans boot `method: recovery` (LAVA's recovery-boot):
// commands recovery powers the board off, runs the dictionary's
// recovery_mode_command and powers it on; commands exit does the same with
// recovery_exit_command.
func bootRecovery(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	var op, key string
	switch c := req.Action.Params.String("commands", ""); c {
	case "recovery":
		op, key = sdk.PowerRecoveryMode, "recovery_mode_command"
	case "exit":
		op, key = sdk.PowerRecoveryExit, "recovery_exit_command"
	default:
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method recovery: commands must be recovery or exit, got %q", c)
	}
	if !has(s, key) {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "unable to find %s recovery command: the device dictionary gives no %s", op, key)
	}
	return []sdk.Step{power(sdk.PowerOff, "power-off"), power(op, "switch-recovery"), power(sdk.PowerOn, "power-on")}, nil
}

// lavaDownloads is where LAVA mounts the downloads folder in the
// postprocess container.
const lavaDownloads = "/lava-downloads"

// deployDownloads plans deploy `to: downloads`: the worker downloads the
// images into the job's folder (one folder per image name); with
// `postprocess: {docker: {image, steps}}` the steps run in that image with
// the folder mounted at /lava-downloads (LAVA runs them as a `set -ex`
// script there).
func deployDownloads(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	a := req.Action
	names, err := images(a)
	if err != nil {
		return nil, err
	}
	pp := a.Params.Map("postprocess")
	if pp == nil {
		return nil, nil
	}
	d := pp.Map("docker")
	if d == nil {
		return nil, sdk.Errorf(sdk.ErrorJob, "postprocess: only docker is supported ({docker: {image: ..., steps: [...]}})")
	}
	steps := d.Strings("steps")
	if len(steps) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "postprocess: postprocessing steps missing")
	}
	r, err := newRunner(sdk.Action{Kind: a.Kind, Method: a.Method, Params: sdk.Values{"docker": map[string]any(d)}}, s, "")
	if err != nil {
		return nil, err
	}
	p, err := imagePath(req, names[0])
	if err != nil {
		return nil, err
	}
	dir := path.Dir(path.Dir(p)) // {job}/{image name}/{file}
	script := "exec 2>&1\nset -ex\n" + strings.Join(steps, "\n") + "\n"
	args := []string{"run", "--rm", "--init", "--mount=type=bind,source=" + dir + ",destination=" + lavaDownloads,
		"--workdir=" + lavaDownloads, r.image, "sh", "-c", script}
	out := r.prepare()
	return append(out, tool(r.engine, "download-postprocess-docker", args...)), nil
}
