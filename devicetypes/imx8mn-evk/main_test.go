package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk/uboot"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func TestPlans(t *testing.T) {
	dict, extends := goldentest.DictionaryValues(t, "imx8mn-evk-01.jinja2")
	if extends != "imx8mn-evk" {
		t.Fatalf("imx8mn-evk-01 extends %s", extends)
	}
	// The defaults are LAVA 2020.09's: fixed load addresses, high limits on.
	s := goldentest.UBootSpec{
		KernelType: "image", KernelFile: "Image", Dictionary: dict,
		Cmd: "booti", Addr: uboot.Addresses{Kernel: "0x40480000", Ramdisk: "0x44000000", DTB: "0x43000000", TEE: "0x83000000"},
		Rendered: []string{"imx8mn-evk-01.rendered-2020.09.yaml"},
	}
	goldentest.UBoot(t, driver(), "imx8mn-evk", s)
	goldentest.Common(t, driver(), "imx8mn-evk", s)

	// LAVA 2023.01's template is a settings edit away: U-Boot's own
	// environment addresses and no high limits.
	v2023 := goldentest.Merge(dict, map[string]any{
		"base_high_limits": false, "booti_kernel_addr": "${loadaddr}", "booti_ramdisk_addr": "${initrd_addr}", "booti_dtb_addr": "${fdt_addr}",
	})
	goldentest.UBoot(t, driver(), "imx8mn-evk", goldentest.UBootSpec{
		KernelType: "image", KernelFile: "Image", Dictionary: v2023, Prefix: "2023.01-",
		Cmd: "booti", Addr: uboot.Addresses{Kernel: "${loadaddr}", Ramdisk: "${initrd_addr}", DTB: "${fdt_addr}", TEE: "0x83000000"},
		Rendered: []string{"imx8mn-evk-01.rendered-2023.01.yaml"},
	})
}
