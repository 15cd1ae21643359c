package sdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	text := `# A file comment, ignored.

# The console device.
console_device: ttyS0
# Baud rate.
baud_rate: 115200
# Load address, quoted because YAML reads 0x.. as a number.
booti_kernel_addr: '0x40480000'
# Whether to interrupt.
# Second help line.
uboot_needs_interrupt: true
# Extra commands.
uboot_extra_commands: ['setenv bootdelay 1', "setenv ethact smc911x-0", plain]
# Empty list.
# type: list
uboot_tftp_commands: []
# Declared int with an empty default.
# type: int
usb_device_id: ''
# Quote inside.
interrupt_char: 'it''s'
# Map.
environment: {}
`
	specs, err := ParseSettings([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []SettingSpec{
		{Key: "console_device", Type: SettingString, Default: "ttyS0", Help: "The console device."},
		{Key: "baud_rate", Type: SettingInt, Default: 115200, Help: "Baud rate."},
		{Key: "booti_kernel_addr", Type: SettingString, Default: "0x40480000", Help: "Load address, quoted because YAML reads 0x.. as a number."},
		{Key: "uboot_needs_interrupt", Type: SettingBool, Default: true, Help: "Whether to interrupt. Second help line."},
		{Key: "uboot_extra_commands", Type: SettingList, Default: []any{"setenv bootdelay 1", "setenv ethact smc911x-0", "plain"}, Help: "Extra commands."},
		{Key: "uboot_tftp_commands", Type: SettingList, Default: []any{}, Help: "Empty list."},
		{Key: "usb_device_id", Type: SettingInt, Default: "", Help: "Declared int with an empty default."},
		{Key: "interrupt_char", Type: SettingString, Default: "it's", Help: "Quote inside."},
		{Key: "environment", Type: SettingMap, Default: map[string]any{}, Help: "Map."},
	}
	if !reflect.DeepEqual(specs, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", specs, want)
	}
	d := SettingDefaults(specs)
	if d.Int("baud_rate", 0) != 115200 || d.String("booti_kernel_addr", "") != "0x40480000" || !d.Bool("uboot_needs_interrupt", false) {
		t.Fatalf("defaults: %v", d)
	}
}

func TestParseSettingsRefusals(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no help", "key: 1\n", "no help comment"},
		{"hex unquoted", "# h\naddr: 0x100\n", "quote it"},
		{"float", "# h\nx: 1.5\n", "quote it"},
		{"null", "# h\nx: null\n", "quote it"},
		{"yes", "# h\nx: yes\n", "quote it"},
		{"colon space", "# h\nx: a: b\n", "quote it"},
		{"comment", "# h\nx: a # c\n", "quote it"},
		{"indented", "# h\nx: 1\n  y: 2\n", "indented"},
		{"nested block", "# h\nx:\n", "no value"},
		{"duplicate", "# h\nx: 1\n# h\nx: 2\n", "given twice"},
		{"bad key", "# h\nx y: 1\n", "want `key: value`"},
		{"no space", "# h\nx:1\n", "space after the colon"},
		{"unterminated list", "# h\nx: [a, b\n", "unterminated list"},
		{"unterminated quote", "# h\nx: 'abc\n", "unterminated"},
		{"lone quote", "# h\nx: 'a'b'\n", "doubled"},
		{"bad type", "# type: float\n# h\nx: 1\n", "unknown type"},
		{"type mismatch", "# h\n# type: int\nx: abc\n", "declared int"},
		{"nested list", "# h\nx: [[a]]\n", "list item"},
		{"help cut by blank line", "# h\n\nx: 1\n", "no help comment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add([]byte("# h\nx: 1\n"))
	f.Add([]byte("# h\nx: ['a', \"b\", c]\n"))
	f.Add([]byte("# h\n# type: list\nx: []\n"))
	f.Add([]byte("# h\nx: 'it''s'\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		specs, err := ParseSettings(b)
		if err != nil {
			return
		}
		for _, s := range specs {
			if s.Key == "" || s.Help == "" || s.Type == "" {
				t.Fatalf("incomplete spec %#v", s)
			}
		}
	})
}
