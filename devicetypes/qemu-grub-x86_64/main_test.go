package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

// Golden plans of the example board pc-grub-01 (goldentest.PCBoard).
func TestPlans(t *testing.T) {
	goldentest.PCBoard(t, driver(), "qemu-grub-x86_64", "pc-grub-01", "grub")
}
