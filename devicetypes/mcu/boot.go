package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// The command lines below are LAVA 2023.01's (lava_dispatcher/actions/boot/
// <method>.py), argument for argument; the README's "Microcontroller boards"
// section says where this driver differs and why.

// boot plans a boot action.
func boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	var steps []sdk.Step
	var err error
	switch req.Action.Method {
	case "qemu":
		steps, err = bootQEMU(req, s)
	case "gdb":
		steps, err = bootGDB(req, s)
	case "pyocd":
		steps, err = bootPyOCD(req, s)
	case "jlink":
		steps, err = bootJLink(req, s)
	case "openocd":
		steps, err = bootOpenOCD(req, s)
	case "dfu":
		steps, err = bootDFU(req, s)
	case "cmsis-dap":
		steps, err = bootCMSIS(req, s)
	case "musca":
		// MuscaBoot: reset the board, wait for its serial device, connect.
		steps = append(reset(s), connect())
	}
	if err != nil {
		return sdk.Plan{}, err
	}
	if prompts := req.Action.Params.Strings("prompts"); len(prompts) > 0 {
		steps = append(steps, sdk.Step{Kind: sdk.StepShell, Name: "expect-shell-connection", Shell: &sdk.ShellStep{Prompts: prompts}})
	}
	return sdk.Plan{Steps: steps}, nil
}

// images are the deployed images in name order (LAVA keeps the deploy's
// order; the worker's artifact map has none, see the README).
func images(req sdk.PlanRequest) []string {
	names := make([]string, 0, len(req.Worker.Artifacts))
	for n, a := range req.Worker.Artifacts {
		if a.LocalPath != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// tool returns the setting key's host tool name: a bare program name the
// worker's admin maps to a program.
func tool(s sdk.Values, key, def string) (string, error) {
	name := s.String(key, def)
	if !sdk.ValidToolName(name) {
		return "", sdk.Errorf(sdk.ErrorConfiguration, "%s %q is not a host tool name: give a bare program name (pyocd, openocd, ...) that the worker's admin allows with lava-worker --allow-tool NAME@mcu (and maps to a path if needed)", key, name)
	}
	return name, nil
}

func toolStep(name string, argv []string) sdk.Step {
	return sdk.Step{Kind: sdk.StepTool, Name: name, Tool: &sdk.ToolStep{Name: argv[0], Args: argv[1:]}}
}

// reset is LAVA's ResetDevice when the dictionary has a hard_reset_command.
func reset(s sdk.Values) []sdk.Step {
	if !s.Has("hard_reset_command") || s.String("hard_reset_command", "") == "" && len(s.Strings("hard_reset_command")) == 0 {
		return nil
	}
	return []sdk.Step{{Kind: sdk.StepPower, Name: "reset-device", Power: &sdk.PowerStep{Op: sdk.PowerReset}}}
}

// connect is LAVA's ConnectDevice: the dictionary's serial console.
func connect() sdk.Step {
	return sdk.Step{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}
}

// spaceSplit is LAVA's " ".join(cmd).split(" ") (pyocd, dfu): words
// split on single spaces, no quoting.
func spaceSplit(words []string) []string { return strings.Split(strings.Join(words, " "), " ") }

// bootQEMU starts the virtual board with the firmware (-kernel) as its
// console: qemu-system-arm -machine M -nographic -monitor none -serial
// stdio, extra_options, then each image's image_arg (LAVA's qemu method's
// image arguments), or -kernel FILE for the one image without one.
func bootQEMU(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	argv, err := qemuArgv(s)
	if err != nil {
		return nil, err
	}
	subs := map[string]string{}
	var args []string
	for _, n := range images(req) {
		a := req.Worker.Artifacts[n]
		subs["{"+n+"}"] = a.LocalPath
		if a.ImageArg != "" {
			args = append(args, strings.Fields(a.ImageArg)...)
		}
	}
	if len(args) == 0 {
		names := images(req)
		if len(names) != 1 {
			return nil, sdk.Errorf(sdk.ErrorJob, "boot method qemu: give the firmware image an image_arg (-kernel {name}); %d images were deployed", len(names))
		}
		args = []string{"-kernel", req.Worker.Artifacts[names[0]].LocalPath}
	}
	for _, a := range uboot.Substitute(args, subs) {
		if strings.Contains(a, "{") && strings.Contains(a, "}") {
			return nil, sdk.Errorf(sdk.ErrorJob, "image_arg %q names an image that was not deployed", a)
		}
		argv = append(argv, a)
	}
	return []sdk.Step{{Kind: sdk.StepConnect, Name: "execute-qemu", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: argv[0], Args: argv[1:]}}}}, nil
}

// qemuArgv is the virtual board's QEMU command line without images.
func qemuArgv(s sdk.Values) ([]string, error) {
	machine := s.String("qemu_machine", "")
	if machine == "" {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "this board has no qemu_machine: it is not a virtual board (flash it with pyocd, jlink, openocd, dfu, gdb or cmsis-dap)")
	}
	name, err := tool(s, "qemu_command", "qemu-system-arm")
	if err != nil {
		return nil, err
	}
	argv := []string{name, "-machine", machine, "-nographic", "-monitor", "none", "-serial", "stdio"}
	return append(argv, s.Strings("extra_options")...), nil
}

// bootGDB is LAVA's BootGDBRetry: reset (hard_reset_command), connect the
// console, then run gdb with the command set the job names (its
// `arguments`, then each of its `commands`), {NAME} being the deployed
// image NAME's file. LAVA then sends `continue` and leaves gdb running; a
// tool step runs to its end, so the plan ends the session with `detach`,
// which lets the target run on as `continue` does. On a virtual board the
// console is QEMU, started halted (-S) with its gdb server on
// qemu_gdb_port.
func bootGDB(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	name := req.Action.Params.String("commands", "")
	if name == "" {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method gdb needs `commands`: the name of one of the device's gdb command sets")
	}
	sets := s.Map("gdb_commands")
	set := sets.Map(name)
	if set == nil {
		names := make([]string, 0, len(sets))
		for k := range sets {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, sdk.Errorf(sdk.ErrorJob, "commands %q undefined for the device (its gdb command sets: %v)", name, names)
	}
	if req.Action.Params.Has("container") || set.Map("docker").Bool("use", false) {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method gdb: gdb in a docker container is not supported by this lab")
	}
	gdb, err := tool(s, "gdb_command", "gdb-multiarch")
	if err != nil {
		return nil, err
	}
	subs := map[string]string{}
	for _, n := range images(req) {
		subs["{"+strings.ToUpper(n)+"}"] = req.Worker.Artifacts[n].LocalPath
	}
	argv := []string{gdb, "-q", "-nx", "-batch"}
	argv = append(argv, uboot.Substitute(set.Strings("arguments"), subs)...)
	for _, c := range uboot.Substitute(set.Strings("commands"), subs) {
		argv = append(argv, "-ex", c)
	}
	argv = append(argv, "-ex", "detach")

	steps := reset(s)
	if s.String("qemu_machine", "") != "" {
		q, err := qemuArgv(s)
		if err != nil {
			return nil, err
		}
		port := s.Int("qemu_gdb_port", 0)
		if port <= 0 || port > 65535 {
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "qemu_gdb_port %q is not a TCP port", s.String("qemu_gdb_port", ""))
		}
		q = append(q, "-S", "-gdb", "tcp:127.0.0.1:"+strconv.Itoa(port))
		steps = append(steps, sdk.Step{Kind: sdk.StepConnect, Name: "execute-qemu", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: q[0], Args: q[1:]}}})
	} else {
		steps = append(steps, connect())
	}
	return append(steps, toolStep("boot-gdb", argv)), nil
}

// bootPyOCD is LAVA's FlashPyOCDAction: per image, the command, its
// options, --uid BOARD_ID (--board for pyocd-flashtool), then the image's
// image_arg with {name} substituted or the image's file; then the
// dictionary's pre_os_command. Reset first when the dictionary has a
// hard_reset_command; the console opens after flashing, or before with
// connect_before_flash.
func bootPyOCD(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	name, err := tool(s, "pyocd_command", "pyocd-flashtool")
	if err != nil {
		return nil, err
	}
	board, err := boardID(s, "PYOCD")
	if err != nil {
		return nil, err
	}
	option := "--uid"
	if strings.HasPrefix(name, "pyocd-flashtool") {
		option = "--board"
	}
	base := append(append([]string{name}, s.Strings("pyocd_options")...), option, board)
	steps := reset(s)
	before := s.Bool("connect_before_flash", false)
	if before {
		steps = append(steps, connect())
	}
	n := 0
	for _, img := range images(req) {
		a := req.Worker.Artifacts[img]
		cmd := append([]string(nil), base...)
		if a.ImageArg != "" {
			cmd = append(cmd, uboot.Substitute([]string{a.ImageArg}, map[string]string{"{" + img + "}": a.LocalPath})...)
		} else {
			cmd = append(cmd, a.LocalPath)
		}
		steps = append(steps, toolStep("flash-pyocd", spaceSplit(cmd)))
		n++
	}
	if n == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "No PyOCD command to execute: deploy an image first")
	}
	if s.Has("pre_os_command") {
		steps = append(steps, sdk.Step{Kind: sdk.StepPower, Name: "pre-os-command", Power: &sdk.PowerStep{Op: sdk.PowerPreOS}})
	}
	if !before {
		steps = append(steps, connect())
	}
	return steps, nil
}

// boardID is the dictionary's board_id, refused when it is LAVA's unset
// default.
func boardID(s sdk.Values, who string) (string, error) {
	b := s.String("board_id", "")
	if b == "" || b == "0000000000" {
		return "", sdk.Errorf(sdk.ErrorConfiguration, "[%s] board_id unset", who)
	}
	return b, nil
}

// bootJLink is LAVA's BootJLinkRetry and FlashJLinkAction: reset
// (hard_reset_command), connect the console, then per image JLinkExe, each
// option split as a shell would (shlex), -autoconnect 1, -CommanderScript
// FILE, -SelectEmuBySN BOARD_ID, FILE holding the J-Link commands for the
// image (JLinkScript). The host writes FILE (a tool file). LAVA writes one
// cmd.jlink for every image, so with several images each command flashes
// the last image; here each image has its own file.
func bootJLink(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	name, err := tool(s, "jlink_command", "JLinkExe")
	if err != nil {
		return nil, err
	}
	board, err := boardID(s, "JLink")
	if err != nil {
		return nil, err
	}
	base := []string{name}
	for _, o := range s.Strings("jlink_options") {
		words, err := shellSplit(o)
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "jlink_options %q: %v", o, err)
		}
		base = append(base, words...)
	}
	base = append(base, "-autoconnect", "1")
	addr, err := strconv.ParseInt(s.String("jlink_address", "0"), 0, 64)
	if err != nil || addr < 0 {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "jlink_address %q is not an address", s.String("jlink_address", ""))
	}
	steps := append(reset(s), connect())
	for i, img := range images(req) {
		file := "cmd.jlink"
		if i > 0 {
			file = fmt.Sprintf("cmd-%d.jlink", i+1)
		}
		argv := append(append([]string(nil), base...), "-CommanderScript", sdk.ToolFileRef(file), "-SelectEmuBySN", board)
		st := toolStep("flash-jlink", argv)
		st.ToolFiles = []sdk.ToolFile{{Name: file, Text: strings.Join(JLinkScript(req.Worker.Artifacts[img].LocalPath, addr), "\n") + "\n"}}
		steps = append(steps, st)
	}
	if len(steps) == len(reset(s))+1 {
		return nil, sdk.Errorf(sdk.ErrorJob, "No JLinkExe command to execute: deploy an image first")
	}
	return steps, nil
}

// shellSplit splits an option as Python's shlex.split does for plain
// words, single and double quotes and backslashes.
func shellSplit(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\'':
			k := strings.IndexByte(line[i+1:], '\'')
			if k < 0 {
				return nil, fmt.Errorf("no closing quotation")
			}
			cur.WriteString(line[i+1 : i+1+k])
			i += k + 1
			in = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\\\"", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("no closing quotation")
			}
			in = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// JLinkScript returns the J-Link commands LAVA writes for one image.
func JLinkScript(image string, address int64) []string {
	return []string{"r", "h", "erase", "sleep 500",
		fmt.Sprintf("loadfile %s 0x%x", image, address),
		fmt.Sprintf("verifybin %s 0x%x", image, address), "r", "qc"}
}

// bootOpenOCD is LAVA's FlashOpenOCDAction: openocd, -f of the job's
// deployed openocd_script or else of each openocd_config file, the board
// selection, -dDEBUG, -s of each script folder, -c of each command, with
// {NAME} the deployed image NAME's file (NAME upper-cased); the
// board_selection_cmd is written to board_selection.cfg, given with -f (a
// tool file). The console opens first, as in LAVA.
func bootOpenOCD(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	name, err := tool(s, "openocd_bin_override", "openocd")
	if err != nil {
		return nil, err
	}
	if b := s.String("board_id", ""); b == "00000000" || b == "" {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "[FLASH_OPENOCD] board_id unset")
	}
	argv := []string{name}
	subs := map[string]string{}
	script := ""
	for _, img := range images(req) {
		f := req.Worker.Artifacts[img].LocalPath
		if img == "openocd_script" {
			script = f
			argv = append(argv, "-f", f)
		} else {
			subs["{"+strings.ToUpper(img)+"}"] = f
		}
	}
	if script == "" {
		for _, f := range s.Strings("openocd_config") {
			argv = append(argv, "-f", f)
		}
	}
	var files []sdk.ToolFile
	if c := s.String("board_selection_cmd", ""); c != "" {
		files = []sdk.ToolFile{{Name: "board_selection.cfg", Text: c}}
		argv = append(argv, "-f", sdk.ToolFileRef("board_selection.cfg"))
	}
	argv = append(argv, "-d"+s.String("openocd_debug", "2"))
	for _, d := range s.Strings("openocd_scripts_dir_override") {
		if d != "" {
			argv = append(argv, "-s", d)
		}
	}
	for _, c := range s.Strings("openocd_commands") {
		argv = append(argv, "-c", c)
	}
	argv = uboot.Substitute(argv, subs)
	st := toolStep("flash-openocd", argv)
	st.ToolFiles = files
	return append(reset(s), connect(), st), nil
}

// bootDFU is LAVA's FlashDFUAction: per image, dfu-util, its options,
// --serial BOARD_ID, --device VID:PID, then the image's image_arg with
// {name} substituted (required); --reset on the last command. LAVA
// checks dfu-util's output for "No error condition is present\nDone!";
// here its exit status decides. The console opens first, then the reset
// (hard_reset_command), as in LAVA.
func bootDFU(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	name, err := tool(s, "dfu_command", "dfu-util")
	if err != nil {
		return nil, err
	}
	board, err := boardID(s, "FLASH_DFU")
	if err != nil {
		return nil, err
	}
	vid, pid := s.String("usb_vendor_id", "0000"), s.String("usb_product_id", "0000")
	if vid == "0000" || pid == "0000" {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "[FLASH_DFU] usb_vendor_id and usb_product_id unset")
	}
	base := append(append([]string{name}, s.Strings("dfu_options")...), "--serial", board, "--device", vid+":"+pid)
	var cmds [][]string
	for _, img := range images(req) {
		a := req.Worker.Artifacts[img]
		if a.ImageArg == "" {
			return nil, sdk.Errorf(sdk.ErrorJob, "Missing image_arg for %s.", img)
		}
		cmd := append(append([]string(nil), base...), uboot.Substitute([]string{a.ImageArg}, map[string]string{"{" + img + "}": a.LocalPath})...)
		cmds = append(cmds, cmd)
	}
	if len(cmds) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "No DFU command to execute: deploy an image first")
	}
	if s.Bool("dfu_reset_works", true) {
		cmds[len(cmds)-1] = append(cmds[len(cmds)-1], "--reset")
	}
	steps := append([]sdk.Step{connect()}, reset(s)...)
	for _, c := range cmds {
		steps = append(steps, toolStep("flash-dfu", spaceSplit(c)))
	}
	return steps, nil
}

// massStorage names the dictionary's mass storage: usb_mass_device, else
// usb_filesystem_label, else usb_filesystem_uuid.
func massStorage(s sdk.Values, who string) (sdk.MassStorageStep, error) {
	m := sdk.MassStorageStep{FSType: s.String("usb_filesystem_type", "vfat")}
	switch {
	case s.String("usb_mass_device", "") != "" && s.String("usb_mass_device", "") != "/notset":
		m.Device = s.String("usb_mass_device", "")
	case s.String("usb_filesystem_label", "") != "":
		m.Label = s.String("usb_filesystem_label", "")
	case s.String("usb_filesystem_uuid", "") != "":
		m.UUID = s.String("usb_filesystem_uuid", "")
	default:
		return m, sdk.Errorf(sdk.ErrorConfiguration, "%s: the device has no usb_mass_device, usb_filesystem_label or usb_filesystem_uuid", who)
	}
	return m, nil
}

// bootCMSIS is LAVA's BootCMSISRetry: reset (hard_reset_command), copy
// every deployed image to the board's mass storage, wait for the DAPLink
// to unmount and remount it (unless skip_autoremount_wait: sync) and fail
// on its FAIL.TXT, unmount, wait post_unmount_delay; then the console.
func bootCMSIS(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	if _, err := boardID(s, "FLASH_CMSIS"); err != nil {
		return nil, err
	}
	m, err := massStorage(s, "cmsis-dap")
	if err != nil {
		return nil, err
	}
	for _, img := range images(req) {
		m.Copy = append(m.Copy, sdk.MassStorageCopy{Role: img})
	}
	if len(m.Copy) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "cmsis-dap: no image to copy: deploy an image first")
	}
	m.WaitRemount = !s.Bool("skip_autoremount_wait", false)
	m.CheckFail = m.WaitRemount
	m.PostUnmountDelayMS = s.Int("post_unmount_delay", 1) * 1000
	steps := append(reset(s), sdk.Step{Kind: sdk.StepMassStorage, Name: "flash-cmsis", MassStorage: &m})
	return append(steps, connect()), nil
}

// deployMusca is LAVA's MuscaAction: reset the board, copy test_binary to
// its mass storage (/dev/disk/by-id/ID_SERIAL), then once it has
// re-enumerated, check that it wrote no FAIL.TXT.
func deployMusca(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	id := s.String("id_serial", "")
	if id == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "id_serial parameter not set for the musca deploy (/dev/disk/by-id/...)")
	}
	if !req.Action.Params.Map("images").Has("test_binary") {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "Missing 'test_binary' in 'images'")
	}
	fs := s.String("usb_filesystem_type", "vfat")
	steps := []sdk.Step{{Kind: sdk.StepDisconnect, Name: "disconnect-device"}}
	steps = append(steps, sdk.Step{Kind: sdk.StepPower, Name: "reset-device", Power: &sdk.PowerStep{Op: sdk.PowerReset}})
	steps = append(steps,
		sdk.Step{Kind: sdk.StepMassStorage, Name: "deploy-musca-test-binary", MassStorage: &sdk.MassStorageStep{ID: id, FSType: fs, Copy: []sdk.MassStorageCopy{{Role: "test_binary"}}}},
		sdk.Step{Kind: sdk.StepMassStorage, Name: "check-musca-flash", MassStorage: &sdk.MassStorageStep{ID: id, FSType: fs, CheckFail: true}})
	return sdk.Plan{Steps: steps}, nil
}

// deployMPS is LAVA's MpsAction: reset the board, copy each test_binary*
// image (renamed as its `rename` says) to the mass storage labelled
// usb_filesystem_label, then write reboot.txt (mps_reboot_string) for a
// soft reboot, or power off with mps_hard_reboot. The recovery_image
// (a tarball LAVA unpacks onto the storage) is not supported here.
func deployMPS(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	label := s.String("usb_filesystem_label", "")
	if label == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "mps deploy: the device has no usb_filesystem_label (LAVA's default is V2M_MPS)")
	}
	imgs := req.Action.Params.Map("images")
	names := make([]string, 0, len(imgs))
	for n := range imgs {
		names = append(names, n)
	}
	sort.Strings(names)
	m := sdk.MassStorageStep{Label: label, FSType: s.String("usb_filesystem_type", "vfat")}
	for _, n := range names {
		switch {
		case n == "recovery_image":
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "mps deploy: recovery_image (a tarball unpacked onto the board) is not supported by this lab; deploy test_binary images")
		case n == "test_binary" || strings.HasPrefix(n, "test_binary_"):
			m.Copy = append(m.Copy, sdk.MassStorageCopy{Role: n, Rename: imgs.Map(n).String("rename", "")})
		default:
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "Missing 'recovery_image' or not starting with 'test_binary_': %s", n)
		}
	}
	if len(m.Copy) == 0 {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "Missing 'images'")
	}
	hard := s.Bool("mps_hard_reboot", false)
	if !hard {
		m.Write = []sdk.MassStorageWrite{{Name: "reboot.txt", Text: s.String("mps_reboot_string", "hsyxhj")}}
	}
	steps := []sdk.Step{
		{Kind: sdk.StepDisconnect, Name: "disconnect-device"},
		{Kind: sdk.StepPower, Name: "reset-device", Power: &sdk.PowerStep{Op: sdk.PowerReset}},
		{Kind: sdk.StepMassStorage, Name: "deploy-mps-test-binary", MassStorage: &m},
	}
	if hard {
		steps = append(steps, sdk.Step{Kind: sdk.StepPower, Name: "power-off", Power: &sdk.PowerStep{Op: sdk.PowerOff}})
	}
	return sdk.Plan{Steps: steps}, nil
}
