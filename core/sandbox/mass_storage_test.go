package sandbox

// Issue 18: a mass_storage step copies only to the board's own storage.

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

func TestAdmitMassStorage(t *testing.T) {
	sb := &Sandbox{Admin: map[string]any{"usb_mass_device": "/dev/disk/by-id/usb-MBED_VFS_1-0:0", "usb_filesystem_label": "DAPLINK", "id_serial": "usb-ARM_1-0:0"}}
	for _, tc := range []struct {
		name string
		m    sdk.MassStorageStep
		want string // "" = admitted, else part of the refusal
	}{
		{"dictionary device", sdk.MassStorageStep{Device: "/dev/disk/by-id/usb-MBED_VFS_1-0:0"}, ""},
		{"dictionary label", sdk.MassStorageStep{Label: "DAPLINK"}, ""},
		{"dictionary id", sdk.MassStorageStep{ID: "usb-ARM_1-0:0"}, ""},
		{"another disk", sdk.MassStorageStep{Device: "/dev/sda"}, `mass_storage.device "/dev/sda" is not the device dictionary's usb_mass_device`},
		{"another label", sdk.MassStorageStep{Label: "rootfs"}, "is not the device dictionary's usb_filesystem_label"},
		{"no uuid in the dictionary", sdk.MassStorageStep{UUID: "1234-ABCD"}, `usb_filesystem_uuid ("")`},
		{"two names", sdk.MassStorageStep{Label: "DAPLINK", ID: "usb-ARM_1-0:0"}, "want exactly one"},
		{"rename out of the storage", sdk.MassStorageStep{Label: "DAPLINK", Copy: []sdk.MassStorageCopy{{Role: "x", Rename: "../../etc/passwd"}}}, "relative path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sb.Admit(sdk.Step{Kind: sdk.StepMassStorage, MassStorage: &tc.m})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
