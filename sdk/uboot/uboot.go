package uboot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/sdk"
)

// Placeholders the dispatcher substitutes in bootloader commands (LAVA's names).
const (
	ServerIP    = "{SERVER_IP}"
	Kernel      = "{KERNEL}"
	Ramdisk     = "{RAMDISK}"
	Initrd      = "{INITRD}"
	DTB         = "{DTB}"
	TEE         = "{TEE}"
	KernelAddr  = "{KERNEL_ADDR}"
	RamdiskAddr = "{RAMDISK_ADDR}"
	DTBAddr     = "{DTB_ADDR}"
	TEEAddr     = "{TEE_ADDR}"
	NFSRootFS   = "{NFSROOTFS}"
	NFSServerIP = "{NFS_SERVER_IP}"
	BootX       = "{BOOTX}"
	Root        = "{ROOT}"
	RootPart    = "{ROOT_PART}"
	// Issue 17 (deploy to nbd): the worker's NBD export.
	NBDServerIP   = "{NBDSERVERIP}"
	NBDServerPort = "{NBDSERVERPORT}"
)

// Layout selects which LAVA template's command order is followed.
type Layout string

// Layouts.
const (
	// LayoutBase is base-uboot.jinja2: autoload, high limits, mac, dhcp,
	// serverip, tftp (kernel, ramdisk, tee, initrd_size, dtb), bootargs, boot.
	LayoutBase Layout = "base-uboot"
	// LayoutVexpress is vexpress.jinja2 (juno): serverip, autoload, dhcp,
	// extra commands, high limits, tftp (kernel, ramdisk, initrd_size, dtb),
	// bootargs (unquoted for nfs), boot.
	LayoutVexpress Layout = "vexpress"
)

// Command list names (the boot action's `commands:` value).
const (
	ListRamdisk = "ramdisk"
	ListNFS     = "nfs"
	ListUSB     = "usb"
	ListSATA    = "sata"
	// ListNBD (issue 17) boots an initrd whose root is the worker's NBD export.
	ListNBD = "nbd"
)

// Template holds the device-type side: the template variables that shape a
// board's command lists. TemplateFromSettings fills it from LAVA's variable
// names; the zero value of a field means LAVA's default where one exists.
type Template struct {
	Layout Layout
	// ConsoleDevice is console_device ("ttyS0"); empty leaves console= out.
	ConsoleDevice string
	// BaudRate is baud_rate (default 115200).
	BaudRate string
	// Parity and DataBits are console_parity (default n) and console_databits
	// (default 8); the vexpress layout always uses n8.
	Parity, DataBits string
	// KernelArgs is the resolved base_kernel_args (extra_kernel_args, when
	// given, replaces the device type's base arguments, as in LAVA).
	KernelArgs string
	// NFSRootArgs is appended to "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard"
	// (extra_nfsroot_args, e.g. ",v3").
	NFSRootArgs string
	// IPArgs is base_ip_args (default "ip=dhcp").
	IPArgs string
	// HighLimits adds setenv initrd_high/fdt_high (base_high_limits).
	HighLimits bool
	// InitrdHigh and FDTHigh are uboot_initrd_high / uboot_fdt_high (default 0xffffffff).
	InitrdHigh, FDTHigh string
	// NeedsUSB starts the list with USBCommands (uboot_needs_usb).
	NeedsUSB bool
	// USBCommands is uboot_usb_commands (default ["usb start"]).
	USBCommands []string
	// SetMAC adds "setenv ethaddr <MACAddr>" (uboot_set_mac, uboot_mac_addr).
	SetMAC  bool
	MACAddr string
	// IPAddrCmd is uboot_ipaddr_cmd (default dhcp).
	IPAddrCmd string
	// ExtraCommands are sent after "setenv autoload no" (base) or are the
	// vexpress base commands ("setenv bootdelay 1", ...): uboot_extra_commands.
	ExtraCommands []string
	// TFTPCommands replaces the load commands (uboot_tftp_commands); nil keeps the layout's.
	TFTPCommands []string
	// AppendDTB leaves out the dtb load (append_dtb).
	AppendDTB bool
	// LoadFDT is uboot_load_fdt (default "tftp {DTB_ADDR} {DTB}").
	LoadFDT string
	// BootCmd is uboot_bootcmd or uboot_bootx_cmd (default "{BOOTX}").
	BootCmd string
	// USBDeviceID is usb_device_id (default 0).
	USBDeviceID string
	// Empty lists the variables set to an empty value, which LAVA's
	// template prints empty where an unset one gets its default
	// (base_ip_args, uboot_initrd_high, uboot_fdt_high) (issue 16). A board
	// whose settings' defaults are LAVA's own fills it (the generic uboot
	// driver); for the others an empty setting means unset.
	Empty []string
}

func (t Template) empty(key string) bool { return slices.Contains(t.Empty, key) }

// orDefault is v, or def when v is empty and key is not in Empty.
func (t Template) orDefault(key, v, def string) string {
	if v == "" && !t.empty(key) {
		return def
	}
	return v
}

// TemplateFromSettings reads a Template from settings that use LAVA's
// template variable names (see the package README for the list).
func TemplateFromSettings(layout Layout, s sdk.Values) Template {
	t := Template{
		Layout:        layout,
		ConsoleDevice: s.String("console_device", ""),
		BaudRate:      s.String("baud_rate", "115200"),
		Parity:        s.String("console_parity", "n"),
		DataBits:      s.String("console_databits", "8"),
		NFSRootArgs:   s.String("extra_nfsroot_args", ""),
		IPArgs:        IPArgs(s),
		HighLimits:    s.Bool("base_high_limits", true),
		InitrdHigh:    s.String("uboot_initrd_high", "0xffffffff"),
		FDTHigh:       s.String("uboot_fdt_high", "0xffffffff"),
		NeedsUSB:      s.Bool("uboot_needs_usb", false),
		USBCommands:   s.Strings("uboot_usb_commands"),
		SetMAC:        s.Bool("uboot_set_mac", false),
		MACAddr:       s.String("uboot_mac_addr", ""),
		IPAddrCmd:     s.String("uboot_ipaddr_cmd", "dhcp"),
		ExtraCommands: s.Strings("uboot_extra_commands"),
		TFTPCommands:  s.Strings("uboot_tftp_commands"),
		AppendDTB:     s.Bool("append_dtb", false),
		LoadFDT:       s.String("uboot_load_fdt", ""),
		BootCmd:       firstNonEmpty(s.String("uboot_bootcmd", ""), s.String("uboot_bootx_cmd", "")),
		USBDeviceID:   s.String("usb_device_id", "0"),
	}
	t.KernelArgs = firstNonEmpty(s.String("extra_kernel_args", ""), s.String("base_kernel_args", ""))
	if len(t.TFTPCommands) == 0 {
		t.TFTPCommands = nil
	}
	return t
}

// IPArgs is LAVA's base_ip_args: the base_ip_args setting if given, else
// ip=<static_ip>::<static_gateway>:<static_netmask>:::off:<static_dns>: when
// all four are set, else ip=dhcp.
func IPArgs(s sdk.Values) string {
	// "ip=dhcp" is also the generic driver's default: static addresses
	// beat it, as they beat an unset base_ip_args in LAVA.
	if v := s.String("base_ip_args", ""); v != "" && v != "ip=dhcp" {
		return v
	}
	ip, gw, mask, dns := s.String("static_ip", ""), s.String("static_gateway", ""), s.String("static_netmask", ""), s.String("static_dns", "")
	if ip != "" && gw != "" && mask != "" && dns != "" {
		return "ip=" + ip + "::" + gw + ":" + mask + ":::off:" + dns + ":"
	}
	return "ip=dhcp"
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func (t Template) bootCmd() string   { return firstNonEmpty(t.BootCmd, BootX) }
func (t Template) ipAddrCmd() string { return firstNonEmpty(t.IPAddrCmd, "dhcp") }
func (t Template) usbCommands() []string {
	if len(t.USBCommands) == 0 {
		return []string{"usb start"}
	}
	return t.USBCommands
}

// console is "console=<dev>,<baud><parity><databits>" (base-uboot).
func (t Template) console() string {
	if t.Layout == LayoutVexpress {
		return "console=" + t.ConsoleDevice + "," + firstNonEmpty(t.BaudRate, "115200") + "n8"
	}
	if t.ConsoleDevice == "" {
		return t.BaudRate
	}
	return "console=" + t.ConsoleDevice + "," + firstNonEmpty(t.BaudRate, "115200") + firstNonEmpty(t.Parity, "n") + firstNonEmpty(t.DataBits, "8")
}

// NBDRootArgs are LAVA's base_nbdroot_args: the kernel arguments of a root
// on the worker's NBD export, with its placeholders (and LAVA's trailing
// space).
const NBDRootArgs = "nbd.server=" + NBDServerIP + " nbd.port=" + NBDServerPort + " root=/dev/ram0 ramdisk_size=16384 rootdelay=7 "

// NFSRoot is the nfsroot= kernel argument with its placeholders.
func (t Template) NFSRoot() string {
	return "nfsroot=" + NFSServerIP + ":" + NFSRootFS + ",tcp,hard" + t.NFSRootArgs
}

func (t Template) baseCommands() []string {
	if t.Layout == LayoutVexpress {
		return slices.Clone(t.ExtraCommands)
	}
	return append([]string{"setenv autoload no"}, t.ExtraCommands...)
}

func (t Template) loadCommands() []string {
	if t.TFTPCommands != nil {
		return slices.Clone(t.TFTPCommands)
	}
	fdt := []string{firstNonEmpty(t.LoadFDT, "tftp "+DTBAddr+" "+DTB)}
	if t.AppendDTB {
		fdt = nil
	}
	if t.Layout == LayoutVexpress {
		// vexpress.jinja2 loads no tee; the tee line (after initrd_size, so
		// initrd_size stays the ramdisk's) is dropped when no tee is deployed.
		return append([]string{"tftp " + KernelAddr + " " + Kernel, "tftp " + RamdiskAddr + " " + Ramdisk,
			"setenv initrd_size ${filesize}", "tftp " + TEEAddr + " " + TEE}, fdt...)
	}
	return append([]string{"tftp " + KernelAddr + " " + Kernel, "tftp " + RamdiskAddr + " " + Ramdisk,
		"tftp " + TEEAddr + " " + TEE, "setenv initrd_size ${filesize}"}, fdt...)
}

// common is uboot_common_cmds.
func (t Template) common() []string {
	var c []string
	if t.NeedsUSB {
		c = append(c, t.usbCommands()...)
	}
	c = append(c, t.baseCommands()...)
	if t.HighLimits {
		c = append(c, "setenv initrd_high "+t.orDefault("uboot_initrd_high", t.InitrdHigh, "0xffffffff"), "setenv fdt_high "+t.orDefault("uboot_fdt_high", t.FDTHigh, "0xffffffff"))
	}
	if t.SetMAC {
		if t.MACAddr != "" || t.Layout == LayoutVexpress {
			c = append(c, "setenv ethaddr "+t.MACAddr)
		} else {
			c = append(c, "setenv ethaddr")
		}
	}
	if t.Layout == LayoutBase {
		c = append(c, t.ipAddrCmd(), "setenv serverip "+ServerIP)
	}
	return append(c, t.loadCommands()...)
}

// Commands renders the named command list (ramdisk, nfs, usb or sata) with
// its placeholders, as LAVA's template renders it.
func (t Template) Commands(name string) ([]string, error) {
	args := func(root string) string {
		return t.console() + " " + root + " " + t.KernelArgs + " " + t.IPArgs
	}
	t.IPArgs = t.orDefault("base_ip_args", t.IPArgs, "ip=dhcp")
	switch t.Layout {
	case LayoutBase, "":
		switch name {
		case ListRamdisk:
			return append(t.common(), "setenv bootargs '"+args("root=/dev/ram0")+"'", t.bootCmd()), nil
		case ListNFS:
			return append(t.common(), "setenv bootargs '"+args("root=/dev/nfs rw "+t.NFSRoot())+"'", t.bootCmd()), nil
		case ListUSB:
			c := append(slices.Clone(t.usbCommands()), t.baseCommands()...)
			load := "load usb " + t.USBDeviceID + ":" + RootPart + " "
			// base-uboot.jinja2 renders the usb bootargs without "setenv bootargs": kept as LAVA sends it.
			return append(c, load+KernelAddr+" "+Kernel, load+RamdiskAddr+" "+Ramdisk, "setenv initrd_size ${filesize}",
				load+DTBAddr+" "+DTB, args("root="+Root), t.bootCmd()), nil
		case ListSATA:
			c := append([]string{"scsi scan"}, t.baseCommands()...)
			load := "load scsi " + RootPart + " "
			return append(c, load+KernelAddr+" "+Kernel, load+RamdiskAddr+" "+Ramdisk+"; setenv initrd_size ${filesize}",
				load+DTBAddr+" "+DTB, "setenv bootargs '"+args("root="+Root)+"'", t.bootCmd()), nil
		case ListNBD:
			return append(t.common(), "setenv bootargs '"+t.console()+" rw "+NBDRootArgs+" "+t.KernelArgs+" "+t.IPArgs+
				" verbose earlyprintk systemd.log_color=false ${extraargs} rw'", t.bootCmd()), nil
		}
	case LayoutVexpress:
		head := []string{"setenv serverip " + ServerIP, "setenv autoload no", t.ipAddrCmd()}
		switch name {
		case ListRamdisk:
			return append(append(head, t.common()...), "setenv bootargs '"+args("root=/dev/ram0")+"'", t.bootCmd()), nil
		case ListNFS:
			// vexpress.jinja2 leaves the nfs bootargs unquoted.
			return append(append(head, t.common()...), "setenv bootargs "+args("root=/dev/nfs rw "+t.NFSRoot()), t.bootCmd()), nil
		case ListUSB:
			c := append(slices.Clone(t.usbCommands()), t.baseCommands()...)
			load := "load usb " + t.USBDeviceID + ":" + RootPart + " "
			return append(c, load+KernelAddr+" "+Kernel, load+RamdiskAddr+" "+Ramdisk, "setenv initrd_size ${filesize}",
				load+DTBAddr+" "+DTB, "setenv bootargs '"+args("root="+Root)+"'", t.bootCmd()), nil
		case ListSATA:
			c := append([]string{"scsi scan"}, t.baseCommands()...)
			load := "load scsi " + RootPart + " "
			return append(c, load+KernelAddr+" "+Kernel, load+RamdiskAddr+" "+Ramdisk, "setenv initrd_size ${filesize}",
				load+DTBAddr+" "+DTB, "setenv bootargs '"+args("root="+Root)+"'", t.bootCmd()), nil
		}
	default:
		return nil, fmt.Errorf("unknown u-boot layout %q", t.Layout)
	}
	return nil, fmt.Errorf("unknown u-boot command list %q (want ramdisk, nfs, usb, sata or nbd)", name)
}

// Addresses are the load addresses of one boot command (LAVA's device
// parameters booti/bootz/bootm). An empty TEE means the device has none.
type Addresses struct {
	Kernel, Ramdisk, DTB, TEE string
}

// Boot commands.
const (
	Booti = "booti"
	Bootz = "bootz"
	Bootm = "bootm"
)

// AddressesFromSettings reads the load addresses as LAVA's base-uboot.jinja2
// does: a boot command is supported when <cmd>_kernel_addr is set, and its
// other addresses default to ramdisk 0x82000000, dtb 0x81000000, tee
// 0x83000000. With noTEEDefault (vexpress/juno) the tee address has no
// default: it is empty unless <cmd>_tee_addr is set.
func AddressesFromSettings(s sdk.Values, noTEEDefault bool) map[string]Addresses {
	out := map[string]Addresses{}
	for _, cmd := range []string{Booti, Bootz, Bootm} {
		k := s.String(cmd+"_kernel_addr", "")
		if k == "" {
			continue
		}
		tee := "0x83000000"
		if noTEEDefault {
			tee = ""
		}
		out[cmd] = Addresses{
			Kernel:  k,
			Ramdisk: firstNonEmpty(s.String(cmd+"_ramdisk_addr", ""), "0x82000000"),
			DTB:     firstNonEmpty(s.String(cmd+"_dtb_addr", ""), "0x81000000"),
			TEE:     firstNonEmpty(s.String(cmd+"_tee_addr", ""), tee),
		}
	}
	return out
}

// BootCommand maps a kernel type to a boot command as LAVA's
// map_kernel_uboot does: uimage → bootm; zimage → bootz when the device has
// bootz addresses; image → booti when it has booti addresses; bootm
// otherwise (the worker then converts the kernel to a uImage).
func BootCommand(kernelType string, addrs map[string]Addresses) string {
	switch strings.ToLower(kernelType) {
	case "zimage":
		if _, ok := addrs[Bootz]; ok {
			return Bootz
		}
	case "image":
		if _, ok := addrs[Booti]; ok {
			return Booti
		}
	}
	return Bootm
}

// Job is what one job deployed: the values behind the placeholders.
type Job struct {
	// KernelType is the deploy's kernel type: image, zimage or uimage. Empty
	// means no boot command is chosen: address placeholders stay unfilled.
	KernelType string
	// ServerIP is {SERVER_IP}; NFSServerIP is {NFS_SERVER_IP} (ServerIP when empty).
	ServerIP, NFSServerIP string
	// Kernel, Ramdisk, DTB, TEE are TFTP paths; empty when not deployed.
	Kernel, Ramdisk, DTB, TEE string
	// RamdiskRaw says the ramdisk has no u-boot header: the boot command
	// then passes "<addr>:${initrd_size}".
	RamdiskRaw bool
	// NoHeader says the device does not add u-boot headers (its add_header
	// is not u-boot): the ramdisk is not passed to the boot command ("-").
	NoHeader bool
	// NFSRootFS is the NFS root directory ({NFSROOTFS}); empty when none.
	NFSRootFS string
	// Root and RootPart are {ROOT} and {ROOT_PART} (boot from media).
	Root, RootPart string
	// NBDServerIP and NBDServerPort are the worker's NBD export
	// ({NBDSERVERIP}, {NBDSERVERPORT}; issue 17); empty when none.
	NBDServerIP, NBDServerPort string
}

// Substitutions returns the placeholder values for a job, with LAVA's
// rules: {BOOTX} is "<cmd> <kernel> <ramdisk> <dtb>", the ramdisk address is
// "-" without a ramdisk or without u-boot headers, "<addr>:${initrd_size}"
// for a raw ramdisk, and a deployed tee's address replaces the kernel's. A
// placeholder whose value is empty is present with "" (its lines are dropped).
func Substitutions(j Job, addrs map[string]Addresses) (map[string]string, error) {
	subs := map[string]string{
		ServerIP: j.ServerIP,
		Kernel:   j.Kernel,
		Ramdisk:  j.Ramdisk,
		Initrd:   j.Ramdisk,
		DTB:      j.DTB,
		TEE:      j.TEE,
	}
	if j.NFSRootFS != "" {
		subs[NFSRootFS] = j.NFSRootFS
		subs[NFSServerIP] = firstNonEmpty(j.NFSServerIP, j.ServerIP)
	}
	if j.Root != "" || j.RootPart != "" {
		subs[Root] = j.Root
		subs[RootPart] = j.RootPart
	}
	if j.NBDServerIP != "" {
		subs[NBDServerIP] = j.NBDServerIP
		subs[NBDServerPort] = j.NBDServerPort
	}
	if j.KernelType == "" {
		return subs, nil
	}
	switch strings.ToLower(j.KernelType) {
	case "image", "zimage", "uimage":
	default:
		return nil, fmt.Errorf("kernel type %q: want image, zimage or uimage", j.KernelType)
	}
	cmd := BootCommand(j.KernelType, addrs)
	a, ok := addrs[cmd]
	if !ok {
		return nil, fmt.Errorf("kernel type %q needs %s, which this device does not support (no %s_kernel_addr)", j.KernelType, cmd, cmd)
	}
	ramdiskAddr := a.Ramdisk
	if j.Ramdisk == "" || j.NoHeader {
		ramdiskAddr = "-"
	}
	bootRamdisk := ramdiskAddr
	if j.Ramdisk != "" && j.RamdiskRaw && ramdiskAddr != "-" {
		bootRamdisk = ramdiskAddr + ":${initrd_size}"
	}
	first := a.Kernel
	if j.TEE != "" {
		if a.TEE == "" {
			return nil, fmt.Errorf("a tee is deployed but the device has no %s tee address (%s_tee_addr)", cmd, cmd)
		}
		first = a.TEE
	}
	subs[BootX] = cmd + " " + first + " " + bootRamdisk + " " + a.DTB
	subs[KernelAddr] = a.Kernel
	subs[RamdiskAddr] = ramdiskAddr
	subs[DTBAddr] = a.DTB
	subs[TEEAddr] = a.TEE
	return subs, nil
}

// Substitute fills the placeholders of each command with subs, dropping
// every command that holds a placeholder whose value is empty (LAVA's
// substitute(drop=True)). Placeholders absent from subs are left as they
// are. Values are inserted in one pass: a value is never substituted again.
func Substitute(cmds []string, subs map[string]string) []string {
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		if k != "" && subs[k] != "" {
			pairs = append(pairs, k, subs[k])
		}
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, 0, len(cmds))
next:
	for _, c := range cmds {
		for _, k := range keys {
			if k != "" && subs[k] == "" && strings.Contains(c, k) {
				continue next
			}
		}
		out = append(out, r.Replace(c))
	}
	return out
}

// Build renders the named list (or, when list is given, the job's own
// commands) and substitutes the job's values: what the board is sent.
func Build(t Template, name string, list []string, j Job, addrs map[string]Addresses) ([]string, error) {
	cmds := list
	if cmds == nil {
		var err error
		if cmds, err = t.Commands(name); err != nil {
			return nil, err
		}
	}
	subs, err := Substitutions(j, addrs)
	if err != nil {
		return nil, err
	}
	return Substitute(cmds, subs), nil
}
