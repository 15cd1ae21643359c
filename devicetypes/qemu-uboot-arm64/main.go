package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

// board is the U-Boot board whose {SERVER_IP} is tftp_server_ip when set:
// QEMU's built-in TFTP server answers at 10.0.2.2 inside the guest's user
// network, whatever address the worker has.
type board struct{ ubootboard.Board }

func driver() board {
	b := ubootboard.New("qemu-uboot-arm64", version,
		"Virtual arm64 board: QEMU virt with Debian's U-Boot, booted over TFTP (booti, firmware device tree)", settings)
	// The board has no secure world: a deployed tee is a job error, not a
	// boot at LAVA's default tee address (outside this board's RAM).
	b.NoTEEDefault = true
	return board{b}
}

func main() { sdk.Run(driver()) }

// Plan plans one job action as the U-Boot board does, with the TFTP server
// address of the settings.
func (b board) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	if req.Action.Kind == sdk.ActionBoot {
		specs, err := b.Specs()
		if err != nil {
			return sdk.Plan{}, err
		}
		if ip := drv.Effective(specs, req).String("tftp_server_ip", ""); ip != "" {
			req.Worker.ServerIP = ip
		}
	}
	return b.Board.Plan(req)
}
