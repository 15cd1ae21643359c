package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

func driver() ubootboard.Board {
	b := ubootboard.New("juno-r2", version, "Arm Juno r2 booted by U-Boot over TFTP (booti, vexpress command order, tee support)", settings)
	b.Layout = uboot.LayoutVexpress
	b.NoTEEDefault = true
	b.Adjust = adjust
	return b
}

func main() { sdk.Run(driver()) }

// adjust is juno.jinja2 and vexpress.jinja2: NFS version 3 before any
// extra_nfsroot_args, and the sky2 MAC address after the kernel arguments.
func adjust(t *uboot.Template, s sdk.Values) {
	t.NFSRootArgs = ",vers=3" + s.String("extra_nfsroot_args", "")
	if mac := s.String("vexpress_sky2_mac", ""); mac != "" {
		t.KernelArgs += " sky2.mac_address=" + mac
	}
}
