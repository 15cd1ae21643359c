package sdk

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ABIVersion is the newest version of the request/answer format and of the
// step vocabulary, the one this SDK's drivers speak. See ABIVersions and
// NegotiateABI for how a host and a driver agree on one.
//
// Version 2 is the sandboxed vocabulary: no step carries a command line.
// Power steps name an operation (the host runs the device dictionary's own
// command for it), connect steps name a connection of the dictionary or an
// allowed host tool, host steps name a user command of the dictionary, and
// host tools are tool steps (a tool name and an argument list, no shell) that
// a worker runs only where its admin allowed the tool.
//
// Version 3 adds steps a version 2 host does not know, so a driver of this
// SDK is refused by one (a clear ABI error, not a failed step): monitor (a
// test action's monitors on the console), mass_storage (copy to a board's
// USB mass storage), tool_files (files written for one tool step), fit (a
// FIT image assembled by the host), file (a small file beside a deployed
// artifact), serve.nbd (an NBD export), and the power operations
// recovery_mode and recovery_exit. A version 3 host runs version 1 and 2
// drivers as before.
//
// Version 4 adds the menu step (a bootloader's menu walked by its item
// text: LAVA's numbered selector or a full-screen firmware menu such as
// EDK2's) and an artifact's container image (image, local_image: the
// docker deploy). A version 3 host would refuse the step but silently drop
// the image, so a driver of this SDK is refused by one.
const ABIVersion = 4

// MinABIVersion is the oldest ABI version a host of this SDK still speaks.
// Version 1 plans are accepted under version 2's rules: a command line in a
// step of a WASM driver runs only when it is exactly the device dictionary's
// own command for that step (see the host's documentation).
const MinABIVersion = 1

// ABIVersions returns the ABI versions this SDK's drivers speak, oldest
// first: what Run puts in the describe answer.
func ABIVersions() []int { return []int{ABIVersion} }

// HostABIVersions returns the ABI versions a host built with this SDK
// speaks, oldest first.
func HostABIVersions() []int {
	v := make([]int, 0, ABIVersion-MinABIVersion+1)
	for i := MinABIVersion; i <= ABIVersion; i++ {
		v = append(v, i)
	}
	return v
}

// SpokenABIVersions returns the versions a describe answer says the driver
// speaks: ABIVersions when given, else the one ABIVersion (drivers built
// before version 2 give only that).
func (d Description) SpokenABIVersions() []int {
	if len(d.ABIVersions) > 0 {
		return d.ABIVersions
	}
	if d.ABIVersion > 0 {
		return []int{d.ABIVersion}
	}
	return nil
}

// NegotiateABI picks the ABI version a host that speaks host uses with the
// driver d: the highest version both speak. The error says what each side
// speaks when they share none.
func NegotiateABI(host []int, d Description) (int, error) {
	best := 0
	for _, v := range d.SpokenABIVersions() {
		for _, h := range host {
			if v == h && v > best {
				best = v
			}
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("driver speaks ABI versions %v, the host speaks %v: none in common", d.SpokenABIVersions(), host)
	}
	return best, nil
}

// Operations a host can ask of a driver.
const (
	OpDescribe = "describe"
	OpPlan     = "plan"
)

// Request is the one JSON document the host writes on a driver's stdin.
//
// ABIVersion is the version the request and its answer use. A host sends
// describe with the oldest version it speaks (MinABIVersion): the describe
// request and answer have the same shape in every version, so a driver
// answers describe whatever version it names. A host sends plan with the
// version NegotiateABI chose, and the driver answers in that version.
type Request struct {
	ABIVersion int          `json:"abi_version"`
	Op         string       `json:"op"`
	Plan       *PlanRequest `json:"plan,omitempty"`
}

// Response is the one JSON document a driver writes on stdout.
// Exactly one of Describe, Plan or Error is set.
type Response struct {
	ABIVersion int          `json:"abi_version"`
	Describe   *Description `json:"describe,omitempty"`
	Plan       *Plan        `json:"plan,omitempty"`
	Error      *Error       `json:"error,omitempty"`
}

// Error is a failure the driver reports itself (as opposed to a crash). The
// host turns it into a job error of the given type.
type Error struct {
	// Type is one of the ErrorType constants; empty means Configuration.
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	t := e.Type
	if t == "" {
		t = ErrorConfiguration
	}
	return t + ": " + e.Message
}

// Job error types, LAVA's names.
const (
	ErrorInfrastructure = "Infrastructure"
	ErrorJob            = "Job"
	ErrorTest           = "Test"
	ErrorBug            = "Bug"
	ErrorConfiguration  = "Configuration"
	ErrorCanceled       = "Canceled"
)

// Description is the answer to describe: who the driver is and what it can
// do. The host calls it before it activates a driver version.
type Description struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// ABIVersion is the newest ABI version the driver speaks.
	ABIVersion int `json:"abi_version"`
	// ABIVersions lists every ABI version the driver speaks (since version
	// 2; a driver that gives none speaks ABIVersion only).
	ABIVersions []int    `json:"abi_versions,omitempty"`
	DeviceTypes []string `json:"device_types"`
	// Settings lists every setting the driver reads, with its default.
	Settings []SettingSpec `json:"settings,omitempty"`
	// DeployMethods are the deploy `to` values the driver plans for.
	DeployMethods []string `json:"deploy_methods,omitempty"`
	// BootMethods are the boot `method` values the driver plans for.
	BootMethods []string `json:"boot_methods,omitempty"`
	// Summary is one line for listings.
	Summary string `json:"summary,omitempty"`
}

// Setting types.
const (
	SettingString = "string"
	SettingInt    = "int"
	SettingBool   = "bool"
	SettingList   = "list"
	SettingMap    = "map"
)

// SettingSpec documents one setting. Keys use LAVA's template variable names
// wherever one exists (console_device, baud_rate, bootz_dtb_addr, ...).
type SettingSpec struct {
	Key     string `json:"key"`
	Type    string `json:"type"`
	Default any    `json:"default,omitempty"`
	Help    string `json:"help"`
}

// Action kinds of a LAVA job.
const (
	ActionDeploy  = "deploy"
	ActionBoot    = "boot"
	ActionTest    = "test"
	ActionCommand = "command"
)

// PlanRequest asks the driver for the steps of one job action.
type PlanRequest struct {
	JobID string `json:"job_id"`
	// Action is the job action being planned.
	Action Action `json:"action"`
	// Context is the job's `context:` mapping (arch, memory, extra_kernel_args, ...).
	Context Values `json:"context,omitempty"`
	// Settings are the merged settings: the device type's defaults, then the
	// admin's overrides for the device type, then the device dictionary.
	Settings Values `json:"settings"`
	// Device names the board.
	Device DeviceFacts `json:"device"`
	// Worker holds what the worker knows: addresses and the deployed artifacts.
	Worker WorkerFacts `json:"worker"`
}

// Action is one entry of the job's `actions:` list.
type Action struct {
	// Kind is deploy, boot, test or command.
	Kind string `json:"kind"`
	// Method is the deploy `to`, the boot `method`, or the command `name`;
	// empty for test.
	Method string `json:"method,omitempty"`
	// Level is LAVA's pipeline level of the action ("1", "2", ...).
	Level string `json:"level,omitempty"`
	// Namespace is the action's namespace, if any.
	Namespace string `json:"namespace,omitempty"`
	// Params is the action's YAML mapping as submitted (commands, prompts,
	// auto_login, kernel, ramdisk, ...).
	Params Values `json:"params,omitempty"`
}

// DeviceFacts describe the board the job runs on.
type DeviceFacts struct {
	Hostname   string `json:"hostname"`
	DeviceType string `json:"device_type"`
}

// WorkerFacts are what the worker offers the plan.
type WorkerFacts struct {
	// ServerIP is the address the board reaches the worker's TFTP and HTTP
	// servers on ({SERVER_IP} in U-Boot commands).
	ServerIP string `json:"server_ip,omitempty"`
	// NFSServerIP is {NFS_SERVER_IP}; empty means ServerIP.
	NFSServerIP string `json:"nfs_server_ip,omitempty"`
	// HTTPBaseURL is where the worker serves the job's artifacts over HTTP.
	HTTPBaseURL string `json:"http_base_url,omitempty"`
	// Artifacts are the files deployed so far, by role: kernel, ramdisk,
	// dtb, tee, nfsrootfs, modules, or an image name of a tmpfs deploy.
	Artifacts map[string]Artifact `json:"artifacts,omitempty"`
}

// Artifact is one deployed file as the worker holds it.
type Artifact struct {
	// TFTPPath is the path relative to the TFTP root ("123/kernel/Image").
	TFTPPath string `json:"tftp_path,omitempty"`
	// LocalPath is the absolute path on the worker (for host tools such as QEMU).
	LocalPath string `json:"local_path,omitempty"`
	// URL is the HTTP URL the worker serves the file at.
	URL string `json:"url,omitempty"`
	// Type is the kernel type from the job (image, zimage, uimage) if any.
	Type string `json:"type,omitempty"`
	// UBootHeader is true when the worker added a u-boot header (ramdisk).
	UBootHeader bool `json:"uboot_header,omitempty"`
	// ImageArg is the `image_arg` of a tmpfs image ("-kernel {kernel}").
	ImageArg string `json:"image_arg,omitempty"`
	// Format is the image format (qcow2, raw, cpio.newc, ...), if given.
	Format string `json:"format,omitempty"`

	// Issue 21: a deploy to docker records its container image (role
	// "image"): Image is the image's name, LocalImage its `local: true`
	// (the image is on the worker's engine and is not pulled).
	Image      string `json:"image,omitempty"`
	LocalImage bool   `json:"local_image,omitempty"`
}

// Plan is the answer to plan: the ordered steps the lab executes.
type Plan struct {
	Steps []Step `json:"steps"`
}

// Step kinds: the vocabulary of ABI version 2 (version 1's, plus tool).
const (
	StepPower      = "power"      // run the device dictionary's power command for an operation
	StepConnect    = "connect"    // open the console: a dictionary connection or an allowed host tool
	StepExpect     = "expect"     // wait for one of several patterns
	StepSend       = "send"       // write text to the console
	StepInterrupt  = "interrupt"  // stop the bootloader at its prompt
	StepCommands   = "commands"   // send bootloader commands one by one, waiting for the prompt each time
	StepServe      = "serve"      // make artifacts available over TFTP/HTTP
	StepTool       = "tool"       // run an allowed host tool (name + arguments, no shell) to its end
	StepFlash      = "flash"      // ABI 1: a host command line that flashes the board; the host runs it as a tool step
	StepLogin      = "login"      // answer login and password prompts
	StepShell      = "wait_shell" // wait for a shell prompt, then set up the shell
	StepTestShell  = "test_shell" // run the LAVA test shell for the job's test action
	StepHost       = "host"       // run a user command of the device dictionary on the worker host
	StepDisconnect = "disconnect" // close the console

	// Issue 18: watch the console for a test action's monitors.
	StepMonitor = "monitor" // LAVA's monitors test action: start, results pattern, end
	// Issue 18: copy files to a board's USB mass storage (cmsis-dap, musca, mps).
	StepMassStorage = "mass_storage"
	// Issue 17 (depthcharge): steps the host runs on the worker's own files.
	StepFIT  = "fit"  // assemble a FIT image of the deployed kernel, dtb and ramdisk (mkimage -f auto)
	StepFile = "file" // write a small text file beside a deployed artifact (depthcharge's cmdline)
	// Issue 17 (uefi-menu): walk a firmware menu by its items' text.
	StepMenu = "menu"
)

// Power operations: each names the device dictionary's command for it.
const (
	PowerOn       = "on"        // power_on_command
	PowerOff      = "off"       // power_off_command
	PowerReset    = "reset"     // hard_reset_command
	PowerPrePower = "pre_power" // pre_power_command
	PowerPreOS    = "pre_os"    // pre_os_command

	// Issue 19 (recovery mode): LAVA's recovery boot switches the board
	// into and out of its recovery (flashing) mode with these commands.
	PowerRecoveryMode = "recovery_mode" // recovery_mode_command
	PowerRecoveryExit = "recovery_exit" // recovery_exit_command
)

// PowerCommandKey returns the device dictionary key whose command(s) the
// host runs for a power operation, or "" for an unknown operation.
func PowerCommandKey(op string) string {
	switch op {
	case PowerOn:
		return "power_on_command"
	case PowerOff:
		return "power_off_command"
	case PowerReset:
		return "hard_reset_command"
	case PowerPrePower:
		return "pre_power_command"
	case PowerPreOS:
		return "pre_os_command"
	case PowerRecoveryMode: // issue 19
		return "recovery_mode_command"
	case PowerRecoveryExit:
		return "recovery_exit_command"
	}
	return ""
}

// DefaultConnection names the device's primary console in a connect step.
const DefaultConnection = "default"

// Step is one typed step. Kind selects which of the payload fields is set;
// exactly that one must be.
type Step struct {
	Kind string `json:"kind"`
	// Name is what the log calls the step ("u-boot-interrupt", "power-on").
	Name string `json:"name,omitempty"`
	// TimeoutMS bounds the step; 0 means the action's timeout.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// OnFailure says what to do when the step fails; nil means fail the job.
	OnFailure *Failure `json:"on_failure,omitempty"`

	Power     *PowerStep     `json:"power,omitempty"`
	Connect   *ConnectStep   `json:"connect,omitempty"`
	Expect    *ExpectStep    `json:"expect,omitempty"`
	Send      *SendStep      `json:"send,omitempty"`
	Interrupt *InterruptStep `json:"interrupt,omitempty"`
	Commands  *CommandsStep  `json:"commands,omitempty"`
	Serve     *ServeStep     `json:"serve,omitempty"`
	Tool      *ToolStep      `json:"tool,omitempty"`
	Flash     *FlashStep     `json:"flash,omitempty"`
	Login     *LoginStep     `json:"login,omitempty"`
	Shell     *ShellStep     `json:"wait_shell,omitempty"`
	TestShell *TestShellStep `json:"test_shell,omitempty"`
	Host      *HostStep      `json:"host,omitempty"`

	// Issue 18: the monitors test action.
	Monitor     *MonitorStep     `json:"monitor,omitempty"`
	MassStorage *MassStorageStep `json:"mass_storage,omitempty"`
	// ToolFiles are written by the host into a fresh folder before a tool
	// step runs; "{file:NAME}" in the tool's arguments is the path of the
	// file NAME (a JLinkExe -CommanderScript, an openocd -f script).
	ToolFiles []ToolFile `json:"tool_files,omitempty"`
	// Issue 17 (depthcharge): the payloads of StepFIT and StepFile.
	FIT  *FITStep  `json:"fit,omitempty"`
	File *FileStep `json:"file,omitempty"`
	// Issue 17 (uefi-menu): the payload of StepMenu.
	Menu *MenuStep `json:"menu,omitempty"`
}

// ToolFile is a small text file a tool step's tool reads (issue 18).
type ToolFile struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// ToolFileRef is how a tool step's argument names its file NAME.
func ToolFileRef(name string) string { return "{file:" + name + "}" }

// Failure policies.
const (
	FailJob    = "fail"     // end the job Incomplete (the default)
	FailRetry  = "retry"    // run the step again, up to Retries times
	FailIgnore = "continue" // log a warning and go on
)

// Failure is a step's failure policy.
type Failure struct {
	Policy  string `json:"policy"`
	Retries int    `json:"retries,omitempty"`
	// ErrorType is the job error type when the step finally fails.
	ErrorType string `json:"error_type,omitempty"`
	// Message replaces the default error message.
	Message string `json:"message,omitempty"`
}

// PowerStep runs the device dictionary's command(s) for one power
// operation (PowerCommandKey names the key; a list runs in order). A device
// whose dictionary has no command for the operation gets a logged no-op: a
// console-process device (QEMU) is powered off by closing its console.
type PowerStep struct {
	Op string `json:"op"`
	// Commands is ABI version 1's copy of the dictionary's command lines.
	// A host runs them only when they are exactly the dictionary's commands
	// for Op (a WASM driver) or the worker allows the `sh` tool (a native
	// driver). Version 2 drivers leave it empty.
	Commands []string `json:"commands,omitempty"`
}

// ConnectStep opens the console. Exactly one of the fields is set.
//
// Version 2 drivers set Connection or Tool. The other fields are ABI
// version 1's: the host accepts them from a WASM driver only when they are
// exactly what the device dictionary says (Command equal to its
// connection_command), and from a native driver only where the worker
// allows the `sh` tool (Command, Shell).
type ConnectStep struct {
	// Connection names a console of the device dictionary: DefaultConnection
	// is the primary one (connection_command, connection_serial,
	// connection_telnet or connection_tcp, else the primary entry of
	// connection_list); another name is that entry of connection_commands.
	Connection string `json:"connection,omitempty"`
	// Tool starts a host tool whose terminal is the console (QEMU, the
	// `local` device type's shell). The worker runs it only where its admin
	// allowed the tool for the device.
	Tool *ToolStep `json:"tool,omitempty"`

	// Command is a shell command whose stdin/stdout is the console (ABI 1).
	Command string `json:"command,omitempty"`
	// Serial is a local serial port (ABI 1).
	Serial *SerialPort `json:"serial,omitempty"`
	// TCP is "host:port" of a raw TCP console (ABI 1).
	TCP string `json:"tcp,omitempty"`
	// Telnet is "host:port" of a telnet console (ABI 1).
	Telnet string `json:"telnet,omitempty"`
	// Shell starts a local shell on the worker in a pty (ABI 1).
	Shell string `json:"shell,omitempty"`
}

// ToolStep names a host tool and its arguments. Name is a bare program name
// (no path, no space): the worker's admin maps it to a program and allows
// it per device or device type; the arguments are passed as they are, with
// no shell in between.
type ToolStep struct {
	Name string   `json:"name"`
	Args []string `json:"args,omitempty"`
}

// SerialPort describes a local serial port.
type SerialPort struct {
	Device   string `json:"device"`
	Baud     int    `json:"baud"`
	Parity   string `json:"parity,omitempty"`    // n, e, o
	DataBits int    `json:"data_bits,omitempty"` // default 8
	StopBits int    `json:"stop_bits,omitempty"` // default 1
}

// Pattern is one regular expression an expect step waits for.
type Pattern struct {
	Regex string `json:"regex"`
	// Fail marks an error pattern: matching it fails the step with Message.
	Fail    bool   `json:"fail,omitempty"`
	Message string `json:"message,omitempty"`
}

// ExpectStep waits until one of the patterns appears on the console.
type ExpectStep struct {
	Patterns []Pattern `json:"patterns"`
}

// SendStep writes text to the console.
type SendStep struct {
	Text string `json:"text"`
	// Newline appends the line ending after Text.
	Newline bool `json:"newline,omitempty"`
	// CharDelayMS waits between characters (boot_character_delay).
	CharDelayMS int `json:"char_delay_ms,omitempty"`
}

// InterruptStep waits for the bootloader's interrupt prompt and stops it,
// then waits for the bootloader prompt.
type InterruptStep struct {
	Prompt string `json:"prompt"`
	// Char is sent to interrupt; empty with Newline means send a newline.
	Char    string `json:"char,omitempty"`
	Newline bool   `json:"newline,omitempty"`
	// BootloaderPrompt is waited for after the interrupt.
	BootloaderPrompt string `json:"bootloader_prompt"`
	// Errors fail the step when seen.
	Errors []string `json:"errors,omitempty"`
}

// CommandsStep sends bootloader commands one by one, each followed by the
// line ending, waiting for Prompt after each but the last. After the last it
// waits for one of Final (the kernel start message), if given.
type CommandsStep struct {
	Commands    []string `json:"commands"`
	Prompt      string   `json:"prompt"`
	CharDelayMS int      `json:"char_delay_ms,omitempty"`
	Errors      []string `json:"errors,omitempty"`
	Final       []string `json:"final,omitempty"`
}

// ServeStep asks the worker to serve artifacts before the board asks for them.
type ServeStep struct {
	Roles []string `json:"roles"`
	TFTP  bool     `json:"tftp,omitempty"`
	HTTP  bool     `json:"http,omitempty"`
	// NFS exports the nfsrootfs role (unpacked) over NFS for the board to
	// mount as its root file system. Added in ABI version 1 without a
	// version change: hosts that do not know it ignore it.
	NFS bool `json:"nfs,omitempty"`
	// NBD (issue 17) exports the nbdroot role over NBD (nbd-server on the
	// worker, for the job's life) for the board to use as its root block
	// device; the artifact's URL is then nbd://SERVER_IP:PORT, LAVA's
	// {NBDSERVERIP} and {NBDSERVERPORT}.
	NBD bool `json:"nbd,omitempty"`
}

// FlashStep is ABI version 1's host tool step: Command is an argument
// vector whose first element names the tool. The host runs it as the tool
// step {Name: Command[0], Args: Command[1:]}, under the same allow list.
type FlashStep struct {
	Command []string `json:"command"`
}

// HostStep runs a command of the device dictionary on the worker host.
// Exactly one field is set.
type HostStep struct {
	// UserCommand names an entry of the dictionary's user_commands: the
	// host runs its `do` command (LAVA's command action).
	UserCommand string `json:"user_command,omitempty"`
	// Command is ABI version 1's shell command line: run from a WASM driver
	// only when it is exactly one of the dictionary's user commands, from
	// a native driver only where the worker allows the `sh` tool.
	Command string `json:"command,omitempty"`
}

// FITStep (issue 17) asks the host to assemble a FIT image of the deployed
// kernel, dtb (if any) and ramdisk (if any, with the test overlay) as
// LAVA's prepare-fit does for depthcharge: `mkimage -D "-I dts -O dtb -p
// 2048" -f auto -A ARCH -O linux -T kernel -C COMPRESSION -d KERNEL -a
// LOADADDR [-b DTB] [-i RAMDISK] image.itb`, the kernel first compressed
// with lzma when Compression is lzma. The image is written beside the
// kernel as image.itb and deployed as the artifact "fit".
type FITStep struct {
	// Arch is mkimage's -A (arm, arm64, x86, ...).
	Arch string `json:"arch"`
	// LoadAddr is mkimage's -a, the kernel load address ("0").
	LoadAddr string `json:"load_addr"`
	// Compression is none or lzma (LAVA compresses arm64 kernels).
	Compression string `json:"compression,omitempty"`
}

// FITName is the file name of the FIT image a FIT step writes beside the
// kernel (LAVA's image.itb).
const FITName = "image.itb"

// Validate checks the FIT step's fields.
func (f FITStep) Validate() error {
	if !ValidToolName(f.Arch) {
		return fmt.Errorf("fit: arch %q is not an architecture name", f.Arch)
	}
	if f.LoadAddr == "" || len(f.LoadAddr) > 32 || f.LoadAddr[0] == '-' {
		return fmt.Errorf("fit: load address %q", f.LoadAddr)
	}
	switch f.Compression {
	case "", "none", "lzma":
	default:
		return fmt.Errorf("fit: compression %q (none or lzma)", f.Compression)
	}
	return nil
}

// FileStep (issue 17) asks the host to write Text to a file Name in the
// folder of the deployed artifact Beside (a role: kernel), served over TFTP
// with it; the file becomes the artifact of role Name.
type FileStep struct {
	Beside string `json:"beside"`
	Name   string `json:"name"`
	Text   string `json:"text"`
}

// MaxFileStepText bounds a file step's text.
const MaxFileStepText = 64 << 10

// Validate checks that the file step names a bare file and a role.
func (f FileStep) Validate() error {
	if !ValidToolName(f.Name) || !ValidToolName(f.Beside) {
		return fmt.Errorf("file: %q beside %q: a bare file name and an artifact role (letters, digits, '.', '_', '+', '-')", f.Name, f.Beside)
	}
	if len(f.Text) > MaxFileStepText {
		return fmt.Errorf("file %s: %d bytes of text, at most %d", f.Name, len(f.Text), MaxFileStepText)
	}
	return nil
}

// LoginStep answers a login prompt (LAVA's auto_login).
type LoginStep struct {
	LoginPrompt    string   `json:"login_prompt"`
	Username       string   `json:"username"`
	PasswordPrompt string   `json:"password_prompt,omitempty"`
	Password       string   `json:"password,omitempty"`
	LoginCommands  []string `json:"login_commands,omitempty"`
}

// ShellStep waits for one of the shell prompts.
type ShellStep struct {
	Prompts []string `json:"prompts"`
}

// TestShellStep runs the LAVA test shell (the job's test action) on the
// shell that the boot reached.
type TestShellStep struct {
	Prompts []string `json:"prompts,omitempty"`
	// CharDelayMS is test_character_delay.
	CharDelayMS int `json:"char_delay_ms,omitempty"`
}

// Label is what logs and errors call the step: its Name, else its Kind.
func (s Step) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Kind
}

// Validate checks that the step's kind and payload agree.
func (s Step) Validate() error {
	set := map[string]bool{
		StepPower:     s.Power != nil,
		StepConnect:   s.Connect != nil,
		StepExpect:    s.Expect != nil,
		StepSend:      s.Send != nil,
		StepInterrupt: s.Interrupt != nil,
		StepCommands:  s.Commands != nil,
		StepServe:     s.Serve != nil,
		StepTool:      s.Tool != nil,
		StepFlash:     s.Flash != nil,
		StepLogin:     s.Login != nil,
		StepShell:     s.Shell != nil,
		StepTestShell: s.TestShell != nil,
		StepHost:      s.Host != nil,
		StepFIT:       s.FIT != nil,
		StepFile:      s.File != nil,
	}
	// Issue 18: the monitors test action and the USB mass storage copy.
	set[StepMonitor] = s.Monitor != nil
	set[StepMassStorage] = s.MassStorage != nil
	set[StepMenu] = s.Menu != nil // issue 17
	n := 0
	for _, v := range set {
		if v {
			n++
		}
	}
	if s.Kind == StepDisconnect {
		if n != 0 {
			return fmt.Errorf("step %q: disconnect takes no payload", s.Name)
		}
		return nil
	}
	has, known := set[s.Kind]
	switch {
	case !known:
		return fmt.Errorf("step %q: unknown kind %q", s.Name, s.Kind)
	case !has:
		return fmt.Errorf("step %q: kind %q without its %q payload", s.Name, s.Kind, s.Kind)
	case n != 1:
		return fmt.Errorf("step %q: kind %q with %d payloads, want exactly one", s.Name, s.Kind, n)
	}
	if err := s.validatePayload(); err != nil {
		return fmt.Errorf("step %q: %w", s.Name, err)
	}
	if s.OnFailure != nil {
		switch s.OnFailure.Policy {
		case FailJob, FailRetry, FailIgnore:
		default:
			return fmt.Errorf("step %q: unknown failure policy %q", s.Name, s.OnFailure.Policy)
		}
	}
	return nil
}

// validatePayload checks the payloads whose fields are alternatives.
func (s Step) validatePayload() error {
	if len(s.ToolFiles) > 0 { // issue 18
		if s.Tool == nil {
			return fmt.Errorf("tool_files without a tool step")
		}
		for _, f := range s.ToolFiles {
			if f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, "/\\\x00{}") {
				return fmt.Errorf("tool file %q: not a bare file name", f.Name)
			}
		}
	}
	count := func(set ...bool) int {
		n := 0
		for _, b := range set {
			if b {
				n++
			}
		}
		return n
	}
	switch {
	case s.Power != nil:
		if PowerCommandKey(s.Power.Op) == "" {
			return fmt.Errorf("unknown power operation %q", s.Power.Op)
		}
	case s.Connect != nil:
		c := s.Connect
		if n := count(c.Connection != "", c.Tool != nil, c.Command != "", c.Serial != nil, c.TCP != "", c.Telnet != "", c.Shell != ""); n != 1 {
			return fmt.Errorf("connect sets %d of connection, tool, command, serial, tcp, telnet, shell; want exactly one", n)
		}
		if c.Tool != nil {
			return c.Tool.Validate()
		}
	case s.Tool != nil:
		return s.Tool.Validate()
	case s.Flash != nil:
		if len(s.Flash.Command) == 0 || s.Flash.Command[0] == "" {
			return fmt.Errorf("flash without a command")
		}
	case s.Host != nil:
		if n := count(s.Host.UserCommand != "", s.Host.Command != ""); n != 1 {
			return fmt.Errorf("host sets %d of user_command, command; want exactly one", n)
		}
	case s.Monitor != nil: // issue 18
		return s.Monitor.Validate()
	case s.MassStorage != nil: // issue 18
		return s.MassStorage.Validate()
	case s.FIT != nil:
		return s.FIT.Validate()
	case s.File != nil:
		return s.File.Validate()
	case s.Menu != nil: // issue 17
		return s.Menu.Validate()
	}
	return nil
}

// Validate checks that a tool step names a bare program.
func (t ToolStep) Validate() error {
	if !ValidToolName(t.Name) {
		return fmt.Errorf("tool name %q is not a bare program name (letters, digits, '.', '_', '+', '-'; no path)", t.Name)
	}
	return nil
}

// ValidToolName reports whether name can name a host tool: a bare program
// name of letters, digits, '.', '_', '+' and '-', not starting with '-' or '.'.
func ValidToolName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '-' || name[0] == '.' {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '+', r == '-':
		default:
			return false
		}
	}
	return true
}

// Validate checks every step of the plan.
func (p Plan) Validate() error {
	for i, s := range p.Steps {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

// MarshalIndent renders the plan as indented JSON (what lava-run --plan-only prints).
func (p Plan) MarshalIndent() ([]byte, error) { return json.MarshalIndent(p, "", "  ") }

// Issue 18: the monitors test action.

// MonitorStep watches the console for a test action's monitors, in order
// (LAVA's lava-test-monitor): for each, it waits for Start, then records a
// test case for every match of Pattern until End appears. Nothing is sent
// to the board.
type MonitorStep struct {
	Monitors []Monitor `json:"monitors"`
}

// Monitor is one entry of a test action's `monitors` list. Start, End and
// Pattern are regular expressions; Pattern's named groups test_case_id and
// result (or measurement, units) make the test case, and Fixup maps a
// result the board prints (PASS) to LAVA's (pass, fail, skip, unknown).
type Monitor struct {
	Name    string            `json:"name"`
	Start   string            `json:"start"`
	End     string            `json:"end"`
	Pattern string            `json:"pattern"`
	Fixup   map[string]string `json:"fixupdict,omitempty"`
}

// Validate checks that every monitor has its name and three expressions.
func (m MonitorStep) Validate() error {
	if len(m.Monitors) == 0 {
		return fmt.Errorf("monitor without monitors")
	}
	for i, x := range m.Monitors {
		if x.Name == "" || x.Start == "" || x.End == "" || x.Pattern == "" {
			return fmt.Errorf("monitor %d: name, start, end and pattern are all required", i)
		}
	}
	return nil
}

// MonitorsOf returns the monitors of a test action's parameters (its
// `monitors` list), or nil when it has none.
func MonitorsOf(params Values) []Monitor {
	raw, ok := params["monitors"].([]any)
	if !ok {
		return nil
	}
	out := make([]Monitor, 0, len(raw))
	for _, it := range raw {
		v := Values{"item": it}.Map("item")
		m := Monitor{Name: v.String("name", ""), Start: v.String("start", ""), End: v.String("end", ""), Pattern: v.String("pattern", "")}
		if f := v.Map("fixupdict"); len(f) > 0 {
			m.Fixup = map[string]string{}
			for k := range f {
				m.Fixup[k] = f.String(k, "")
			}
		}
		out = append(out, m)
	}
	return out
}

// Issue 18: the USB mass storage of microcontroller boards.

// MassStorageStep copies files to a board's USB mass storage (LAVA's
// cmsis-dap boot, musca and mps deploys): the host waits for the
// filesystem to appear, mounts it, copies the deployed images and writes
// the given files, syncs, optionally waits for the board to unmount and
// remount it (a DAPLink does after flashing) and checks that it wrote no
// FAIL.TXT, then unmounts it. Exactly one of Device, Label, UUID and ID
// names the filesystem; a host runs the step only when it is the device
// dictionary's own (usb_mass_device, usb_filesystem_label,
// usb_filesystem_uuid, id_serial).
type MassStorageStep struct {
	// Device is a block device path under /dev (usb_mass_device).
	Device string `json:"device,omitempty"`
	// Label is found under /dev/disk/by-label (usb_filesystem_label).
	Label string `json:"label,omitempty"`
	// UUID is found under /dev/disk/by-uuid (usb_filesystem_uuid).
	UUID string `json:"uuid,omitempty"`
	// ID is found under /dev/disk/by-id (a Musca's id_serial).
	ID string `json:"id,omitempty"`
	// FSType is mount's -t; empty means vfat.
	FSType string `json:"fs_type,omitempty"`
	// Copy are deployed images to copy, in order.
	Copy []MassStorageCopy `json:"copy,omitempty"`
	// Write are small files to write after the copies (an MPS's reboot.txt).
	Write []MassStorageWrite `json:"write,omitempty"`
	// WaitRemount waits, after the copy, until the board's firmware has
	// unmounted and remounted the filesystem (its listing empties, then
	// fills), instead of a sync.
	WaitRemount bool `json:"wait_remount,omitempty"`
	// CheckFail fails the step when the filesystem holds FAIL.TXT.
	CheckFail bool `json:"check_fail,omitempty"`
	// PostUnmountDelayMS waits after the unmount.
	PostUnmountDelayMS int `json:"post_unmount_delay_ms,omitempty"`
}

// MassStorageCopy is one deployed image to copy: its artifact role, and
// the path to give it on the board, relative to the storage (empty: its
// own name).
type MassStorageCopy struct {
	Role   string `json:"role"`
	Rename string `json:"rename,omitempty"`
}

// MassStorageWrite is a file the step writes with the given text.
type MassStorageWrite struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Validate checks that one filesystem is named and that file names are
// bare names.
func (m MassStorageStep) Validate() error {
	n := 0
	for _, x := range []string{m.Device, m.Label, m.UUID, m.ID} {
		if x != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("mass_storage sets %d of device, label, uuid, id; want exactly one", n)
	}
	bare := func(name string) bool {
		return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
	}
	// A rename may name a folder of the storage (SOFTWARE/zephyr.elf),
	// never leave it.
	relative := func(name string) bool {
		for _, part := range strings.Split(name, "/") {
			if !bare(part) {
				return false
			}
		}
		return true
	}
	for _, c := range m.Copy {
		if c.Role == "" || (c.Rename != "" && !relative(c.Rename)) {
			return fmt.Errorf("mass_storage copy %+v: a role, and a relative path without . or .. to rename to", c)
		}
	}
	for _, w := range m.Write {
		if !bare(w.Name) {
			return fmt.Errorf("mass_storage write %q: not a bare file name", w.Name)
		}
	}
	return nil
}
