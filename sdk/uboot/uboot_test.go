package uboot

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

// genericRamdisk is LAVA's rendered ramdisk list for a generic board
// (console ttyS0, high limits on), identical in 2020.09 and 2023.01.
var genericRamdisk = []string{
	"setenv autoload no",
	"setenv initrd_high 0xffffffff",
	"setenv fdt_high 0xffffffff",
	"dhcp",
	"setenv serverip {SERVER_IP}",
	"tftp {KERNEL_ADDR} {KERNEL}",
	"tftp {RAMDISK_ADDR} {RAMDISK}",
	"tftp {TEE_ADDR} {TEE}",
	"setenv initrd_size ${filesize}",
	"tftp {DTB_ADDR} {DTB}",
	"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0  ip=dhcp'",
	"{BOOTX}",
}

func generic() Template {
	return TemplateFromSettings(LayoutBase, sdk.Values{"console_device": "ttyS0", "baud_rate": 115200.0})
}

func TestCommands(t *testing.T) {
	nfs := append(append([]string(nil), genericRamdisk[:10]...),
		"setenv bootargs 'console=ttyS0,115200n8 root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard  ip=dhcp'", "{BOOTX}")
	for _, tc := range []struct {
		name string
		t    Template
		list string
		want []string
	}{
		{"generic ramdisk", generic(), ListRamdisk, genericRamdisk},
		{"generic nfs", generic(), ListNFS, nfs},
		{"no high limits, usb, mac, extra", TemplateFromSettings(LayoutBase, sdk.Values{
			"console_device": "ttymxc1", "base_high_limits": false, "uboot_needs_usb": true, "uboot_set_mac": true,
			"uboot_mac_addr": "00:11:22:33:44:55", "uboot_extra_commands": []any{"setenv bootdelay 1"},
			"extra_kernel_args": "quiet", "console_parity": "e", "console_databits": "7", "baud_rate": "9600",
		}), ListRamdisk, []string{
			"usb start", "setenv autoload no", "setenv bootdelay 1", "setenv ethaddr 00:11:22:33:44:55",
			"dhcp", "setenv serverip {SERVER_IP}",
			"tftp {KERNEL_ADDR} {KERNEL}", "tftp {RAMDISK_ADDR} {RAMDISK}", "tftp {TEE_ADDR} {TEE}",
			"setenv initrd_size ${filesize}", "tftp {DTB_ADDR} {DTB}",
			"setenv bootargs 'console=ttymxc1,9600e7 root=/dev/ram0 quiet ip=dhcp'", "{BOOTX}",
		}},
		{"append dtb, static ip, bootx override, set mac without address", TemplateFromSettings(LayoutBase, sdk.Values{
			"console_device": "ttyS0", "append_dtb": true, "base_high_limits": "False", "uboot_set_mac": true,
			"static_ip": "10.0.0.5", "static_gateway": "10.0.0.1", "static_netmask": "255.255.255.0", "static_dns": "10.0.0.1",
			"uboot_bootx_cmd": "bootm {KERNEL_ADDR}", "uboot_ipaddr_cmd": "setenv ipaddr 10.0.0.5",
		}), ListRamdisk, []string{
			"setenv autoload no", "setenv ethaddr", "setenv ipaddr 10.0.0.5", "setenv serverip {SERVER_IP}",
			"tftp {KERNEL_ADDR} {KERNEL}", "tftp {RAMDISK_ADDR} {RAMDISK}", "tftp {TEE_ADDR} {TEE}", "setenv initrd_size ${filesize}",
			"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0  ip=10.0.0.5::10.0.0.1:255.255.255.0:::off:10.0.0.1:'",
			"bootm {KERNEL_ADDR}",
		}},
		{"tftp override", TemplateFromSettings(LayoutBase, sdk.Values{
			"console_device": "ttyS0", "base_high_limits": false, "uboot_tftp_commands": []any{"tftp {KERNEL_ADDR} {KERNEL}"},
		}), ListRamdisk, []string{
			"setenv autoload no", "dhcp", "setenv serverip {SERVER_IP}", "tftp {KERNEL_ADDR} {KERNEL}",
			"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0  ip=dhcp'", "{BOOTX}",
		}},
		{"generic sata", generic(), ListSATA, []string{
			"scsi scan", "setenv autoload no",
			"load scsi {ROOT_PART} {KERNEL_ADDR} {KERNEL}",
			"load scsi {ROOT_PART} {RAMDISK_ADDR} {RAMDISK}; setenv initrd_size ${filesize}",
			"load scsi {ROOT_PART} {DTB_ADDR} {DTB}",
			"setenv bootargs 'console=ttyS0,115200n8 root={ROOT}  ip=dhcp'", "{BOOTX}",
		}},
		{"generic usb", generic(), ListUSB, []string{
			"usb start", "setenv autoload no",
			"load usb 0:{ROOT_PART} {KERNEL_ADDR} {KERNEL}", "load usb 0:{ROOT_PART} {RAMDISK_ADDR} {RAMDISK}",
			"setenv initrd_size ${filesize}", "load usb 0:{ROOT_PART} {DTB_ADDR} {DTB}",
			"console=ttyS0,115200n8 root={ROOT}  ip=dhcp", "{BOOTX}",
		}},
		{"vexpress nfs", TemplateFromSettings(LayoutVexpress, sdk.Values{
			"console_device": "ttyAMA0", "uboot_initrd_high": "0xffffffffffffffff", "uboot_fdt_high": "0xffffffffffffffff",
			"uboot_extra_commands": []any{"setenv bootdelay 1"}, "base_kernel_args": "rootwait", "extra_nfsroot_args": ",vers=3",
		}), ListNFS, []string{
			"setenv serverip {SERVER_IP}", "setenv autoload no", "dhcp", "setenv bootdelay 1",
			"setenv initrd_high 0xffffffffffffffff", "setenv fdt_high 0xffffffffffffffff",
			"tftp {KERNEL_ADDR} {KERNEL}", "tftp {RAMDISK_ADDR} {RAMDISK}", "setenv initrd_size ${filesize}",
			"tftp {TEE_ADDR} {TEE}", "tftp {DTB_ADDR} {DTB}",
			"setenv bootargs console=ttyAMA0,115200n8 root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard,vers=3 rootwait ip=dhcp",
			"{BOOTX}",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Commands(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	if _, err := generic().Commands("iscsi"); err == nil {
		t.Fatal("iscsi list: want an error")
	}
	if _, err := (Template{Layout: "grub"}).Commands(ListRamdisk); err == nil {
		t.Fatal("unknown layout: want an error")
	}
}

func TestSubstitute(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds []string
		subs map[string]string
		want []string
	}{
		{"fill", []string{"tftp {KERNEL_ADDR} {KERNEL}"}, map[string]string{KernelAddr: "0x1", Kernel: "1/Image"}, []string{"tftp 0x1 1/Image"}},
		{"drop empty", []string{"a", "tftp {TEE_ADDR} {TEE}", "b"}, map[string]string{TEEAddr: "0x3", TEE: ""}, []string{"a", "b"}},
		{"unknown placeholder kept", []string{"load {ROOT}"}, map[string]string{Kernel: "k"}, []string{"load {ROOT}"}},
		{"no resubstitution", []string{"{KERNEL}"}, map[string]string{Kernel: "{DTB}", DTB: "x"}, []string{"{DTB}"}},
		{"no commands", nil, map[string]string{Kernel: "k"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Substitute(tc.cmds, tc.subs); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestSubstitutions(t *testing.T) {
	booti := map[string]Addresses{Booti: {Kernel: "0x40480000", Ramdisk: "0x44000000", DTB: "0x43000000", TEE: "0x83000000"}}
	bootz := AddressesFromSettings(sdk.Values{"bootz_kernel_addr": "0x01000000", "bootz_ramdisk_addr": "-", "bootz_dtb_addr": "0x00001000"}, false)
	junoA := AddressesFromSettings(sdk.Values{"booti_kernel_addr": "0x80080000", "booti_ramdisk_addr": "0x84000000", "booti_dtb_addr": "0x83000000"}, true)
	bootm := AddressesFromSettings(sdk.Values{"bootm_kernel_addr": "0x80000000"}, false)
	for _, tc := range []struct {
		name    string
		job     Job
		addrs   map[string]Addresses
		bootx   string
		ramdisk string
		err     string
	}{
		{"booti with ramdisk", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", DTB: "d"}, booti, "booti 0x40480000 0x44000000 0x43000000", "0x44000000", ""},
		{"no ramdisk", Job{KernelType: "image", Kernel: "k", DTB: "d"}, booti, "booti 0x40480000 - 0x43000000", "-", ""},
		{"no header", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", NoHeader: true}, booti, "booti 0x40480000 - 0x43000000", "-", ""},
		{"raw initrd", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", RamdiskRaw: true}, booti, "booti 0x40480000 0x44000000:${initrd_size} 0x43000000", "0x44000000", ""},
		{"tee replaces kernel", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", TEE: "t"}, booti, "booti 0x83000000 0x44000000 0x43000000", "0x44000000", ""},
		{"tee and raw initrd", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", TEE: "t", RamdiskRaw: true}, booti, "booti 0x83000000 0x44000000:${initrd_size} 0x43000000", "0x44000000", ""},
		{"soca9 zimage", Job{KernelType: "zimage", Kernel: "k", DTB: "d"}, bootz, "bootz 0x01000000 - 0x00001000", "-", ""},
		{"juno without tee (the 2020.08 regression)", Job{KernelType: "image", Kernel: "k", Ramdisk: "r", DTB: "d"}, junoA, "booti 0x80080000 0x84000000 0x83000000", "0x84000000", ""},
		{"juno tee without address", Job{KernelType: "image", Kernel: "k", TEE: "t"}, junoA, "", "", "no booti tee address"},
		{"zimage falls back to bootm", Job{KernelType: "zImage", Kernel: "k"}, bootm, "bootm 0x80000000 - 0x81000000", "-", ""},
		{"uimage without bootm", Job{KernelType: "uimage", Kernel: "k"}, booti, "", "", "needs bootm"},
		{"bad type", Job{KernelType: "bzimage", Kernel: "k"}, booti, "", "", "want image"},
		{"no type", Job{Kernel: "k"}, booti, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subs, err := Substitutions(tc.job, tc.addrs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if subs[BootX] != tc.bootx || subs[RamdiskAddr] != tc.ramdisk {
				t.Fatalf("BOOTX %q ramdisk %q, want %q %q", subs[BootX], subs[RamdiskAddr], tc.bootx, tc.ramdisk)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	addrs := AddressesFromSettings(sdk.Values{"bootz_kernel_addr": "0x82000000", "bootz_ramdisk_addr": "0x83000000", "bootz_dtb_addr": "0x88000000"}, false)
	got, err := Build(generic(), ListRamdisk, nil, Job{KernelType: "zimage", ServerIP: "10.0.0.1", Kernel: "1/zImage", Ramdisk: "1/initrd.u-boot", DTB: "1/b.dtb"}, addrs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"setenv autoload no", "setenv initrd_high 0xffffffff", "setenv fdt_high 0xffffffff", "dhcp", "setenv serverip 10.0.0.1",
		"tftp 0x82000000 1/zImage", "tftp 0x83000000 1/initrd.u-boot", "setenv initrd_size ${filesize}", "tftp 0x88000000 1/b.dtb",
		"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0  ip=dhcp'", "bootz 0x82000000 0x83000000 0x88000000",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
	inline, err := Build(generic(), "", []string{"setenv serverip {SERVER_IP}", "tftp {TEE_ADDR} {TEE}", "{BOOTX}"}, Job{KernelType: "zimage", ServerIP: "s", Kernel: "k"}, addrs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"setenv serverip s", "bootz 0x82000000 - 0x88000000"}; !reflect.DeepEqual(inline, want) {
		t.Fatalf("inline: got %q", inline)
	}
}

func BenchmarkBuild(b *testing.B) {
	addrs := AddressesFromSettings(sdk.Values{"booti_kernel_addr": "0x40480000"}, false)
	j := Job{KernelType: "image", ServerIP: "10.0.0.1", Kernel: "1/Image", Ramdisk: "1/r", DTB: "1/d", NFSRootFS: "/n"}
	t := generic()
	for b.Loop() {
		if _, err := Build(t, ListNFS, nil, j, addrs); err != nil {
			b.Fatal(err)
		}
	}
}
