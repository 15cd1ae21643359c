package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk/uboot"
)

func spec(t *testing.T) goldentest.UBootSpec {
	dict, extends := goldentest.DictionaryValues(t, "generic-uboot-01.jinja2")
	if extends != "base-uboot" {
		t.Fatalf("generic-uboot-01 extends %s", extends)
	}
	return goldentest.UBootSpec{
		KernelType: "zimage", KernelFile: "zImage", Dictionary: dict,
		Cmd: "bootz", Addr: uboot.Addresses{Kernel: "0x82000000", Ramdisk: "0x83000000", DTB: "0x88000000", TEE: "0x83000000"},
		Rendered: []string{"generic-uboot-01.rendered-2020.09.yaml", "generic-uboot-01.rendered-2023.01.yaml"},
	}
}

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func TestPlans(t *testing.T) {
	s := spec(t)
	goldentest.UBoot(t, driver(), "uboot", s)
	goldentest.Common(t, driver(), "uboot", s)
}
