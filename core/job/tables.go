package job

import "regexp"

// The value lists below are facts of LAVA 2023.01 (lava_common/schemas).

// contextVariables are the job `context` keys LAVA's strict schema knows.
var contextVariables = set(
	// qemu
	"arch", "boot_console", "boot_root", "cpu", "extra_options", "guestfs_driveid",
	"guestfs_interface", "guestfs_size", "machine", "memory", "model", "monitor",
	"netdevice", "no_kvm", "serial", "vga",
	// u-boot
	"booti_dtb_addr", "booti_kernel_addr", "booti_ramdisk_addr", "bootm_dtb_addr",
	"bootm_kernel_addr", "bootm_ramdisk_addr", "bootz_dtb_addr", "bootz_kernel_addr",
	"bootz_ramdisk_addr",
	// others
	"boot_character_delay", "boot_retry", "bootloader_prompt", "console_device",
	"custom_kernel_args", "extra_kernel_args", "extra_nfsroot_args", "failure_retry",
	"kernel_loglevel", "kernel_start_message", "lava_test_results_dir",
	"menu_interrupt_prompt", "mustang_menu_list", "test_character_delay",
	"tftp_mac_address", "uboot_extra_error_message", "uboot_needs_interrupt",
	"uboot_altbank",
)

// deployTo are the known deploy `to` values.
var deployTo = set("docker", "download", "downloads", "fastboot", "flasher", "fvp",
	"iso-installer", "lxc", "mps", "musca", "nbd", "nfs", "overlay", "recovery", "ssh",
	"tftp", "tmpfs", "u-boot-ums", "uuu", "vemsd", "sata", "sd", "usb")

// bootMethods are the known boot `method` values.
var bootMethods = set("barebox", "bootloader", "cmsis-dap", "depthcharge", "dfu", "docker",
	"fastboot", "fvp", "gdb", "grub", "grub-efi", "ipxe", "jlink", "kexec", "lxc", "minimal",
	"monitor", "musca", "new_connection", "openocd", "pyocd", "qemu", "qemu-iso", "qemu-nfs",
	"recovery", "schroot", "ssh", "u-boot", "uefi", "uefi-menu", "uuu")

var (
	topLevelKeys = set("job_name", "device_type", "timeouts", "visibility", "context",
		"metadata", "priority", "tags", "secrets", "environment", "protocols", "notify",
		"reboot_to_fastboot", "actions")
	timeoutsKeys   = set("job", "action", "actions", "connection", "connections", "queue")
	actionKinds    = set("deploy", "boot", "test", "command")
	compressions   = set("bz2", "gz", "xz", "zip", "zstd")
	testFrom       = set("git", "bzr", "url", "inline")
	skipInstall    = set("keys", "sources", "deps", "steps", "git-repos", "all")
	lavaSignals    = set("kmsg", "stdout")
	testNameRE     = regexp.MustCompile(`^[-_a-zA-Z0-9.]+$`)
	reservedNS     = set("common", "docker-test-shell")
	protocolNames  = set("lava-lxc", "lava-multinode", "lava-vland", "lava-xnbd")
	multinodeKeys  = set("roles", "timeout")
	deviceRoleKeys = set("device_type", "count", "context", "tags", "environment", "essential", "timeout")
	connRoleKeys   = set("connection", "count", "expect_role", "host_role", "essential", "request", "tags", "timeout", "context")
	lxcKeys        = set("name", "distribution", "release", "arch", "mirror", "persist", "security_mirror", "template", "timeout", "verbose")
	notifyKeys     = set("criteria", "verbosity", "recipients", "callback", "callbacks", "compare")
	callbackKeys   = set("url", "method", "token", "header", "dataset", "content-type")
	recipientKeys  = set("method", "user", "email", "handle", "server")
	notifyStatus   = set("all", "finished", "running", "complete", "canceled", "incomplete")
	testDefKeys    = set("from", "repository", "path", "name", "branch", "history", "revision",
		"parameters", "params", "skip_install", "lava-signal", "compression", "md5sum", "sha256sum", "sha512sum", "headers")
)

// actionCommonKeys are the keys every action accepts.
var actionCommonKeys = set("namespace", "connection-namespace", "protocols", "role", "timeout",
	"timeouts", "repeat", "failure_retry", "failure_retry_interval")

// methodKeys lists, for the action modules whose strict schema is known here,
// the keys besides actionCommonKeys. Other keys draw a warning (LAVA's strict
// schema calls them extra; its server accepts them and the dispatcher ignores
// them). Methods absent from this table are not checked for extra keys.
var methodKeys = map[string]map[string]bool{
	"deploy.tmpfs":     set("to", "os", "authorize", "images", "type", "uefi"),
	"deploy.tftp":      set("to", "os", "authorize", "kernel", "dtb", "modules", "preseed", "ramdisk", "nfsrootfs", "persistent_nfs", "tee"),
	"deploy.nfs":       set("to", "os", "authorize", "nfsrootfs", "modules", "images"),
	"boot.qemu":        set("method", "parameters", "soft_reboot", "connection", "media", "prompts", "transfer_overlay", "auto_login", "docker"),
	"boot.qemu-nfs":    set("method", "parameters", "soft_reboot", "connection", "media", "prompts", "transfer_overlay", "auto_login"),
	"boot.qemu-iso":    set("method", "parameters", "soft_reboot", "media", "prompts", "auto_login"),
	"boot.u-boot":      set("method", "parameters", "soft_reboot", "commands", "prompts", "auto_login", "use_bootscript", "transfer_overlay"),
	"boot.minimal":     set("method", "parameters", "soft_reboot", "prompts", "auto_login", "pre_power_command", "pre_os_command", "reset", "transfer_overlay"),
	"test.definitions": set("definitions", "docker"),
	"command":          set("name"),
}

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
