package sdk

import (
	"encoding/json"
	"fmt"
)

// ABIVersion is the version of the request/answer format and of the step
// vocabulary. The host refuses a driver whose describe answer names another
// version.
const ABIVersion = 1

// Operations a host can ask of a driver.
const (
	OpDescribe = "describe"
	OpPlan     = "plan"
)

// Request is the one JSON document the host writes on a driver's stdin.
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
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	ABIVersion  int      `json:"abi_version"`
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
}

// Plan is the answer to plan: the ordered steps the lab executes.
type Plan struct {
	Steps []Step `json:"steps"`
}

// Step kinds: the vocabulary of ABI version 1.
const (
	StepPower      = "power"      // run the dictionary's power command
	StepConnect    = "connect"    // open the console
	StepExpect     = "expect"     // wait for one of several patterns
	StepSend       = "send"       // write text to the console
	StepInterrupt  = "interrupt"  // stop the bootloader at its prompt
	StepCommands   = "commands"   // send bootloader commands one by one, waiting for the prompt each time
	StepServe      = "serve"      // make artifacts available over TFTP/HTTP
	StepFlash      = "flash"      // run a host command that flashes the board (native drivers only)
	StepLogin      = "login"      // answer login and password prompts
	StepShell      = "wait_shell" // wait for a shell prompt, then set up the shell
	StepTestShell  = "test_shell" // run the LAVA test shell for the job's test action
	StepHost       = "host"       // run a command on the worker host
	StepDisconnect = "disconnect" // close the console
)

// Power operations.
const (
	PowerOn       = "on"
	PowerOff      = "off"
	PowerReset    = "reset"
	PowerPrePower = "pre_power"
	PowerPreOS    = "pre_os"
)

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
	Flash     *FlashStep     `json:"flash,omitempty"`
	Login     *LoginStep     `json:"login,omitempty"`
	Shell     *ShellStep     `json:"wait_shell,omitempty"`
	TestShell *TestShellStep `json:"test_shell,omitempty"`
	Host      *HostStep      `json:"host,omitempty"`
}

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

// PowerStep runs one of the device's power commands.
type PowerStep struct {
	Op string `json:"op"`
	// Commands are shell command lines run in order on the worker. Empty for
	// power off of a console-process device (QEMU): closing the console stops it.
	Commands []string `json:"commands,omitempty"`
}

// ConnectStep opens the console. Exactly one of the fields is set.
type ConnectStep struct {
	// Command is a shell command whose stdin/stdout is the console
	// (LAVA's connection_command: "telnet localhost 7002", or a QEMU command line).
	Command string `json:"command,omitempty"`
	// Serial is a local serial port.
	Serial *SerialPort `json:"serial,omitempty"`
	// TCP is "host:port" of a raw TCP console (ser2net raw mode).
	TCP string `json:"tcp,omitempty"`
	// Telnet is "host:port" of a telnet console (ser2net telnet mode).
	Telnet string `json:"telnet,omitempty"`
	// Shell starts a local shell on the worker in a pty (the `local` device).
	Shell string `json:"shell,omitempty"`
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
}

// FlashStep runs a host command that writes an image to the board.
// Only native (go-plugin) drivers may use it.
type FlashStep struct {
	Command []string `json:"command"`
}

// HostStep runs a shell command on the worker host (user_commands, pre_os_command).
type HostStep struct {
	Command string `json:"command"`
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
		StepFlash:     s.Flash != nil,
		StepLogin:     s.Login != nil,
		StepShell:     s.Shell != nil,
		StepTestShell: s.TestShell != nil,
		StepHost:      s.Host != nil,
	}
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
	if s.OnFailure != nil {
		switch s.OnFailure.Policy {
		case FailJob, FailRetry, FailIgnore:
		default:
			return fmt.Errorf("step %q: unknown failure policy %q", s.Name, s.OnFailure.Policy)
		}
	}
	return nil
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
