package pcboot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/pcboot/pcboottest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// ipxeSettings and grubSettings are the settings a board's settings.yaml
// gives (the values the virtual boards use), with a reset command.
func ipxeSettings() sdk.Values {
	return sdk.Values{
		"tftp_server_ip": "10.0.2.2", "hard_reset_command": "pdu reset 3", "connection_command": "telnet ser2net 7001",
		"console_device": "ttyS0", "baud_rate": 115200, "bootloader_prompt": "iPXE>",
		"ipxe_autoboot_prompt": "Press Ctrl-B for the iPXE command line", "ipxe_interrupt_ctrl_list": []any{"b"},
		"ipxe_interrupt_newline":    true,
		"ipxe_error_messages":       []any{"No configuration methods succeeded", "Connection timed out"},
		"ipxe_board_error_messages": []any{"No such file or directory", "Exec format error", "Could not boot"},
		"boot_interface":            "net0", "lava_mac_address": "00:90:05:af:00:7d", "kernel_start_message": "Linux version [0-9]",
	}
}

func grubSettings(efi bool) sdk.Values {
	s := sdk.Values{
		"tftp_server_ip": "10.0.2.2", "hard_reset_command": "pdu reset 3", "connection_command": "telnet ser2net 7001",
		"console_device": "ttyS0", "baud_rate": 115200, "bootloader_prompt": "grub>",
		"grub_autoboot_prompt": "for a command-line", "grub_interrupt_character": "c",
		"grub_board_error_messages": []any{"error: can.t find command", "error: file .* not found", "error: invalid magic number"},
		"kernel_start_message":      "Linux version [0-9]", "grub_error_messages": []any{"error: missing (.*) symbol."},
		"grub_efi_error_messages": []any{"Undefined OpCode Exception PC at", "Synchronous Exception at", "error: missing (.*) symbol."},
	}
	s["grub_interrupt_newline"] = efi
	return s
}

func artifacts(nfs bool) map[string]sdk.Artifact {
	a := map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/tftp-deploy/kernel/bzImage"},
		"ramdisk": {TFTPPath: "42/tftp-deploy/ramdisk/initramfs.cpio.gz"},
	}
	if nfs {
		a["nfsrootfs"] = sdk.Artifact{LocalPath: "/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs-x1"}
	}
	return a
}

func bootRequest(method string, s sdk.Values, commands any, arts map[string]sdk.Artifact) sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID: "42",
		Action: sdk.Action{Kind: sdk.ActionBoot, Method: method, Level: "2", Params: sdk.Values{
			"commands": commands, "prompts": []any{"vlab:[^\\n]*# "},
		}},
		Settings: s,
		Device:   sdk.DeviceFacts{Hostname: "pc-01", DeviceType: "pc"},
		Worker:   sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: arts},
	}
}

func board(methods ...string) Board {
	return New("pc", "1.0.0", "test board", []byte("# Address.\ntftp_server_ip: ''\n"), methods...)
}

// The substituted command lists of each method, as a worker sends them.
func TestCommandLists(t *testing.T) {
	nfsArgs := "nfsroot=10.0.2.2:/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs-x1,tcp,hard"
	for _, tc := range []struct {
		name, method string
		s            sdk.Values
		commands     any
		nfs          bool
		want         []string
		errType      string
		errText      string
	}{
		{"ipxe-ramdisk", "ipxe", ipxeSettings(), "ramdisk", false, []string{
			"dhcp net0",
			"set console console=ttyS0,115200n8 lava_mac=00:90:05:af:00:7d",
			"set extraargs  ip=dhcp",
			"kernel tftp://10.0.2.2/42/tftp-deploy/kernel/bzImage ${extraargs} ${console}",
			"initrd tftp://10.0.2.2/42/tftp-deploy/ramdisk/initramfs.cpio.gz",
			"boot",
		}, "", ""},
		{"ipxe-nfs", "ipxe", ipxeSettings(), "nfs", true, []string{
			"dhcp net0",
			"set console console=ttyS0,115200n8 lava_mac=00:90:05:af:00:7d",
			"set extraargs root=/dev/nfs rw " + nfsArgs + "  ip=dhcp",
			"kernel tftp://10.0.2.2/42/tftp-deploy/kernel/bzImage ${extraargs} ${console}",
			"initrd tftp://10.0.2.2/42/tftp-deploy/ramdisk/initramfs.cpio.gz",
			"boot",
		}, "", ""},
		{"ipxe-job-list", "ipxe", ipxeSettings(), []any{"dhcp", "chain tftp://{SERVER_IP}/{KERNEL}"}, false,
			[]string{"dhcp", "chain tftp://10.0.2.2/42/tftp-deploy/kernel/bzImage"}, "", ""},
		{"ipxe-unknown-list", "ipxe", ipxeSettings(), "usb", false, nil, sdk.ErrorJob, `no command list "usb"`},
		{"ipxe-nfs-without-rootfs", "ipxe", ipxeSettings(), "nfs", false, nil, sdk.ErrorJob, "need an nfsrootfs"},
		{"ipxe-no-commands", "ipxe", ipxeSettings(), nil, false, nil, sdk.ErrorJob, "needs `commands`"},
		{"ipxe-bad-mac", "ipxe", merge(ipxeSettings(), sdk.Values{"lava_mac_address": "00:90:05"}), "ramdisk", false, nil, sdk.ErrorConfiguration, "not a MAC address"},
		{"ipxe-bootscript", "ipxe", merge(ipxeSettings(), sdk.Values{"use_bootscript": true}), "ramdisk", false, nil, sdk.ErrorConfiguration, "use_bootscript"},
		{"ipxe-no-ctrl", "ipxe", merge(ipxeSettings(), sdk.Values{"ipxe_interrupt_ctrl_list": []any{}}), "ramdisk", false, nil, sdk.ErrorConfiguration, "ipxe_interrupt_ctrl_list"},
		{"grub-ramdisk", "grub", grubSettings(false), "ramdisk", false, []string{
			"net_bootp", "clear", "insmod linux", "clear", "insmod tftp", "clear",
			"linux (tftp,10.0.2.2)/42/tftp-deploy/kernel/bzImage console=ttyS0,115200 ip=dhcp ",
			"clear", "initrd (tftp,10.0.2.2)/42/tftp-deploy/ramdisk/initramfs.cpio.gz", "clear", "boot",
		}, "", ""},
		{"grub-efi-ramdisk", "grub-efi", grubSettings(true), "ramdisk", false, []string{
			"net_ls_addr", "clear", "insmod linux", "clear", "insmod tftp", "clear",
			"linux (tftp,10.0.2.2)/42/tftp-deploy/kernel/bzImage console=ttyS0,115200 ip=dhcp ",
			"clear", "initrd (tftp,10.0.2.2)/42/tftp-deploy/ramdisk/initramfs.cpio.gz", "clear", "boot",
		}, "", ""},
		{"grub-nfs", "grub", grubSettings(false), "nfs", true, []string{
			"net_bootp",
			"linux (tftp,10.0.2.2)/42/tftp-deploy/kernel/bzImage console=ttyS0,115200 root=/dev/nfs rw " + nfsArgs + " ip=dhcp ",
			"initrd (tftp,10.0.2.2)/42/tftp-deploy/ramdisk/initramfs.cpio.gz", "boot",
		}, "", ""},
		{"grub-dtb-placeholder-without-dtb", "grub", grubSettings(false), []any{"devicetree (tftp,{SERVER_IP})/{DTB}"}, false, nil, sdk.ErrorJob, "needs {DTB}"},
		{"grub-unknown-list", "grub", grubSettings(false), "sata", false, nil, sdk.ErrorJob, `no command list "sata"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := board(tc.method).Plan(bootRequest(tc.method, tc.s, tc.commands, artifacts(tc.nfs)))
			if tc.errType != "" {
				var e *sdk.Error
				if !errors.As(err, &e) || e.Type != tc.errType || !strings.Contains(e.Message, tc.errText) {
					t.Fatalf("want a %s error naming %q, got %v", tc.errType, tc.errText, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.Validate(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range plan.Steps {
				if s.Kind == sdk.StepCommands {
					got = s.Commands.Commands
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("commands\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

func merge(a, b sdk.Values) sdk.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// A board's driver plans only the methods it declares, and deploys to tftp only.
func TestUndeclaredMethods(t *testing.T) {
	b := board("ipxe")
	_, err := b.Plan(bootRequest("grub", grubSettings(false), "ramdisk", artifacts(false)))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Type != sdk.ErrorJob || !strings.Contains(e.Message, `no boot method "grub"`) {
		t.Fatalf("grub on an ipxe board: %v", err)
	}
	_, err = b.Plan(sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "nbd", Params: sdk.Values{"kernel": map[string]any{"url": "x"}}}})
	if !errors.As(err, &e) || !strings.Contains(e.Message, `no deploy method "nbd"`) {
		t.Fatalf("deploy to nbd: %v", err)
	}
}

// Each method's plan boots a scripted board to the shell, and a boot
// failure ends it in the bootloader's own words, in the step that met it.
func TestBootOnScriptedFirmware(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		s            sdk.Values
		con          *sdktest.Console
		failStep     string // "" = the boot reaches the shell
		errText      string
	}{
		{"ipxe", "ipxe", ipxeSettings(), pcboottest.IPXE(), "", ""},
		{"ipxe-no-tftp-answer", "ipxe", ipxeSettings(), pcboottest.IPXE(sdktest.Prefix("kernel tftp://",
			"... Connection timed out (http://ipxe.org/4c126035)\r\niPXE> ")), "bootloader-commands", "Connection timed out"},
		{"ipxe-missing-kernel", "ipxe", ipxeSettings(), pcboottest.IPXE(sdktest.Prefix("kernel tftp://",
			"... No such file or directory (http://ipxe.org/2d12608e)\r\niPXE> ")), "bootloader-commands", "No such file or directory"},
		{"ipxe-no-dhcp", "ipxe", ipxeSettings(), pcboottest.IPXE(sdktest.Line("dhcp net0",
			"\r\nConfiguring (net0 52:54:00:12:34:56)................ No configuration methods succeeded (http://ipxe.org/040ee186)\r\niPXE> ")),
			"bootloader-commands", "No configuration methods succeeded"},
		{"ipxe-wrong-kernel", "ipxe", ipxeSettings(), pcboottest.IPXE(sdktest.Line("boot",
			"\r\nCould not boot: Exec format error (http://ipxe.org/2e008081)\r\niPXE> ")), "kernel-start", "Exec format error"},
		{"grub", "grub", grubSettings(false), pcboottest.Grub(false), "", ""},
		{"grub-missing-kernel", "grub", grubSettings(false), pcboottest.Grub(false, sdktest.Prefix("linux (tftp,",
			"\r\nerror: file `/42/tftp-deploy/kernel/bzImage' not found.\r\ngrub> ")), "bootloader-commands", "not found"},
		{"grub-efi", "grub-efi", grubSettings(true), pcboottest.Grub(true), "", ""},
		{"grub-efi-wrong-kernel", "grub-efi", grubSettings(true), pcboottest.Grub(true, sdktest.Prefix("linux (tftp,",
			"\r\nerror: invalid magic number.\r\ngrub> ")), "bootloader-commands", "invalid magic number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := board(tc.method).Plan(bootRequest(tc.method, tc.s, "ramdisk", artifacts(false)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := sdktest.Execute(context.Background(), tc.con, plan)
			if tc.failStep == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, res.Transcript())
				}
				if k := res.Kinds(); k[len(k)-1] != sdk.StepShell {
					t.Fatalf("steps %v: no shell at the end", k)
				}
				return
			}
			var se *sdktest.StepError
			if !errors.As(err, &se) || se.Step.Name != tc.failStep || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("want step %s to fail naming %q, got %v\n%s", tc.failStep, tc.errText, err, res.Transcript())
			}
			t.Logf("%v", err)
		})
	}
}
