package wasm_test

import (
	"context"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// cpuTime is the CPU time (user + system) this process has used: on a
// machine shared with other work it says what a call costs better than the
// wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ubootBoards are the U-Boot device types measured, with their kernel type.
var ubootBoards = []struct{ name, kernelType string }{
	{"soca9", "zimage"}, {"juno-r2", "image"}, {"imx8mn-evk", "image"}, {"qemu-uboot-arm64", "image"},
}

// ubootBootRequest is the plan request of a ramdisk boot with a dtb, the
// driver's defaults as settings: what a worker asks for a real job.
func ubootBootRequest(desc sdk.Description, devType, kernelType string) sdk.PlanRequest {
	s := sdk.Values(sdk.SettingDefaults(desc.Settings))
	s["connection_command"] = "telnet localhost 7001"
	return sdk.PlanRequest{
		JobID: "42",
		Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot", Level: "2",
			Params: sdk.Values{"commands": "ramdisk", "prompts": []any{"/ # "}}},
		Settings: s,
		Device:   sdk.DeviceFacts{Hostname: devType + "-01", DeviceType: devType},
		Worker: sdk.WorkerFacts{ServerIP: "192.0.2.2", Artifacts: map[string]sdk.Artifact{
			"kernel":  {TFTPPath: "42/kernel/Image", Type: kernelType},
			"ramdisk": {TFTPPath: "42/ramdisk/rootfs.cpio.gz", UBootHeader: true},
			"dtb":     {TFTPPath: "42/dtb/board.dtb"},
		}},
	}
}

// BenchmarkDeviceTypeDrivers measures the shipped U-Boot device-type
// drivers (built as `make drivers` does) against issue 3's figures, one
// sub-benchmark per driver. The timed loop is plan calls with a prewarmed
// instance ready (a job's plan calls come a few per job, not back to back);
// each sub-benchmark also reports:
//
//   - wasm-bytes and stripped-bytes: the module's size, and built with
//     -ldflags=-s -w;
//   - first-compile-ms: load with an empty compilation cache (compile and
//     describe), and cached-load-ms: the same in a fresh host whose cache
//     already holds the compiled code (as after a restart);
//   - p50-ms, p99-ms: the plan-call latency distribution of the loop;
//   - cpu-ms/op: this process's CPU time per plan call.
func BenchmarkDeviceTypeDrivers(b *testing.B) {
	ctx := context.Background()
	for _, board := range ubootBoards {
		b.Run(board.name, func(b *testing.B) {
			bin := testbuild.Read(b, "devicetypes/"+board.name, testbuild.WASM, "")
			stripped := testbuild.Read(b, "devicetypes/"+board.name, testbuild.WASM, "-s -w")
			cache := b.TempDir()

			h, err := wasm.NewHost(ctx, wasm.Options{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if _, err := h.Load(ctx, board.name+".wasm", bin); err != nil {
				b.Fatal(err)
			}
			first := time.Since(start)
			_ = h.Close(ctx)

			h, err = wasm.NewHost(ctx, wasm.Options{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			start = time.Now()
			m, err := h.Load(ctx, board.name+".wasm", bin)
			if err != nil {
				b.Fatal(err)
			}
			cached := time.Since(start)

			req := ubootBootRequest(m.Describe(), board.name, board.kernelType)
			if plan, _, err := m.Plan(ctx, req); err != nil || len(plan.Steps) == 0 {
				b.Fatalf("plan: %d steps, %v", len(plan.Steps), err)
			}
			var lat []time.Duration
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := m.WaitPrewarmed(ctx); err != nil {
					b.Fatal(err)
				}
				c0 := cpuTime()
				b.StartTimer()
				t0 := time.Now()
				if _, _, err := m.Plan(ctx, req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				b.StopTimer()
				cpu += cpuTime() - c0
				b.StartTimer()
			}
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(float64(len(bin)), "wasm-bytes")
			b.ReportMetric(float64(len(stripped)), "stripped-bytes")
			b.ReportMetric(float64(first.Milliseconds()), "first-compile-ms")
			b.ReportMetric(float64(cached.Microseconds())/1000, "cached-load-ms")
			b.ReportMetric(q(.5), "p50-ms")
			b.ReportMetric(q(.99), "p99-ms")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(lat)), "cpu-ms/op")
		})
	}
}

// TestDeviceTypeDriversPlan checks that the benchmark's request is a real
// boot plan for each U-Boot driver (the benchmark measures what jobs get),
// and that the stripped build still loads and answers the same plan.
func TestDeviceTypeDriversPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every U-Boot driver twice")
	}
	ctx := context.Background()
	h := newHost(t, wasm.Options{CacheDir: os.TempDir() + "/lavalab-test-wasm-cache"})
	for _, board := range ubootBoards {
		var plans [2]sdk.Plan
		for i, flags := range []string{"", "-s -w"} {
			m, err := h.Load(ctx, board.name+".wasm", testbuild.Read(t, "devicetypes/"+board.name, testbuild.WASM, flags))
			if err != nil {
				t.Fatalf("%s %q: %v", board.name, flags, err)
			}
			p, _, err := m.Plan(ctx, ubootBootRequest(m.Describe(), board.name, board.kernelType))
			if err != nil {
				t.Fatalf("%s %q: %v", board.name, flags, err)
			}
			if !slices.ContainsFunc(p.Steps, func(s sdk.Step) bool { return s.Kind == sdk.StepCommands && len(s.Commands.Commands) > 3 }) {
				t.Errorf("%s: no bootloader commands in the plan", board.name)
			}
			plans[i] = p
		}
		a, b := plans[0].Steps, plans[1].Steps
		if len(a) != len(b) {
			t.Errorf("%s: the stripped build plans %d steps, the normal one %d", board.name, len(b), len(a))
		}
	}
}
