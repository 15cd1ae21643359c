package sandbox

// Issue 18: the USB mass storage copy (cmsis-dap, musca, mps).

import "github.com/lavalab/lavalab/sdk"

// admitMassStorage admits a mass_storage step only when the filesystem it
// names is the device dictionary's own (or the admin's device-type
// setting's): usb_mass_device, usb_filesystem_label, usb_filesystem_uuid
// or id_serial. A driver never names a disk of the worker itself.
func (sb *Sandbox) admitMassStorage(m sdk.MassStorageStep) (Action, error) {
	if err := m.Validate(); err != nil {
		return Action{}, refuse("%v", err)
	}
	a := sb.admin()
	check := func(field, got, key string) (Action, error) {
		if want := a.String(key, ""); want == "" || want != got {
			return Action{}, refuse("mass_storage.%s %q is not the device dictionary's %s (%q): a WASM driver copies only to the board's own mass storage", field, got, key, want)
		}
		return Action{}, nil
	}
	switch {
	case m.Device != "":
		return check("device", m.Device, "usb_mass_device")
	case m.Label != "":
		return check("label", m.Label, "usb_filesystem_label")
	case m.UUID != "":
		return check("uuid", m.UUID, "usb_filesystem_uuid")
	}
	return check("id", m.ID, "id_serial")
}
