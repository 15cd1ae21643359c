package vlab

// Issue 18: the virtual Cortex-M board.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Facts of the virtual Cortex-M board's firmware (scripts/vlab/mcu/), as it
// prints them on its UART in Zephyr's ztest format.
const (
	// MCUMachine is the QEMU machine (qemu-system-arm -machine).
	MCUMachine = "mps2-an385"
	// MCUSuites are the firmware's test suites, in the order it runs them;
	// each starts with "Running test suite NAME".
	MCUKernelSuite  = "kernel"
	MCUDriversSuite = "drivers"
	// MCUFailingCase is the case that fails on purpose.
	MCUFailingCase = "test_deliberate_failure"
	// MCUEnd is how the firmware's last line starts.
	MCUEnd = "PROJECT EXECUTION"
)

// MCUCases are the firmware's test cases by suite, with their results.
var MCUCases = map[string]map[string]string{
	MCUKernelSuite:  {"test_arithmetic": "pass", "test_memory": "pass"},
	MCUDriversSuite: {"test_uart_ready": "pass", "test_gpio_toggle": "pass", MCUFailingCase: "fail"},
}

// MCUImages are the firmware files of a built cache folder.
type MCUImages struct {
	ELF, Bin, Hex string
}

// OpenMCU returns the firmware of the cache folder dir (its mcu/ folder),
// or an error naming the first file that is missing.
func OpenMCU(dir string) (MCUImages, error) {
	d := filepath.Join(dir, "mcu")
	im := MCUImages{ELF: filepath.Join(d, "firmware.elf"), Bin: filepath.Join(d, "firmware.bin"), Hex: filepath.Join(d, "firmware.hex")}
	for _, f := range []string{im.ELF, im.Bin, im.Hex} {
		if _, err := os.Stat(f); err != nil {
			return MCUImages{}, fmt.Errorf("vlab: Cortex-M firmware missing (run make vlab-images): %w", err)
		}
	}
	return im, nil
}

// BuildMCU runs scripts/vlab/mcu.sh of the repository at repoRoot for the
// cache folder dir (it installs gcc-arm-none-eabi when missing and run as
// root) and opens the result. Built firmware makes it return at once.
func BuildMCU(ctx context.Context, repoRoot, dir string) (MCUImages, error) {
	script := filepath.Join(repoRoot, "scripts", "vlab", "mcu.sh")
	out, err := exec.CommandContext(ctx, "bash", script, "--cache", dir).CombinedOutput()
	if err != nil {
		return MCUImages{}, fmt.Errorf("vlab: %s: %w\n%s", script, err, out)
	}
	return OpenMCU(dir)
}
