package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

// Golden plans of the example board pc-ipxe-01 (goldentest.PCBoard).
func TestPlans(t *testing.T) {
	goldentest.PCBoard(t, driver(), "qemu-ipxe-x86_64", "pc-ipxe-01", "ipxe")
}
