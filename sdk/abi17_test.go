package sdk

import (
	"strings"
	"testing"
)

// TestValidateIssue17Steps: the fit and file steps (issue 17) carry only
// what they should: an architecture name, a load address, a known
// compression; a bare file name beside a role, bounded text.
func TestValidateIssue17Steps(t *testing.T) {
	for _, tc := range []struct {
		name string
		step Step
		ok   bool
	}{
		{"fit", Step{Kind: StepFIT, FIT: &FITStep{Arch: "arm64", LoadAddr: "0", Compression: "lzma"}}, true},
		{"fit-no-compression", Step{Kind: StepFIT, FIT: &FITStep{Arch: "arm", LoadAddr: "0x80008000"}}, true},
		{"fit-arch-path", Step{Kind: StepFIT, FIT: &FITStep{Arch: "../arm", LoadAddr: "0"}}, false},
		{"fit-arch-option", Step{Kind: StepFIT, FIT: &FITStep{Arch: "-x", LoadAddr: "0"}}, false},
		{"fit-addr-option", Step{Kind: StepFIT, FIT: &FITStep{Arch: "arm", LoadAddr: "-o"}}, false},
		{"fit-no-addr", Step{Kind: StepFIT, FIT: &FITStep{Arch: "arm"}}, false},
		{"fit-gzip", Step{Kind: StepFIT, FIT: &FITStep{Arch: "arm", LoadAddr: "0", Compression: "gzip"}}, false},
		{"fit-no-payload", Step{Kind: StepFIT}, false},
		{"file", Step{Kind: StepFile, File: &FileStep{Beside: "kernel", Name: "cmdline", Text: "console=ttyS0"}}, true},
		{"file-path", Step{Kind: StepFile, File: &FileStep{Beside: "kernel", Name: "../../etc/passwd"}}, false},
		{"file-dot", Step{Kind: StepFile, File: &FileStep{Beside: "kernel", Name: ".."}}, false},
		{"file-beside-path", Step{Kind: StepFile, File: &FileStep{Beside: "../kernel", Name: "cmdline"}}, false},
		{"file-too-big", Step{Kind: StepFile, File: &FileStep{Beside: "kernel", Name: "cmdline", Text: strings.Repeat("x", MaxFileStepText+1)}}, false},
		{"file-two-payloads", Step{Kind: StepFile, File: &FileStep{Beside: "kernel", Name: "cmdline"}, FIT: &FITStep{Arch: "arm", LoadAddr: "0"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.step.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
