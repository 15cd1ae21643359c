package sandbox

import (
	"strconv"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

// The consoles a connect step names come from the dictionary.
func TestResolveConnection(t *testing.T) {
	for _, tc := range []struct {
		name, conn string
		dict       sdk.Values
		want       string // console.Name of the result, or the error
	}{
		{"command", "default", sdk.Values{"connection_command": "telnet localhost 7001"}, "command telnet localhost 7001"},
		{"serial", "default", sdk.Values{"connection_serial": "/dev/ttyUSB3", "baud_rate": 9600}, "serial /dev/ttyUSB3 9600"},
		{"telnet", "default", sdk.Values{"connection_telnet": "ser2net:7002"}, "telnet ser2net:7002"},
		{"tcp", "default", sdk.Values{"connection_tcp": "ser2net:7003"}, "tcp ser2net:7003"},
		{"list primary", "default", sdk.Values{"connection_list": []any{"uart0", "uart1"}, "connection_tags": map[string]any{"uart1": []any{"primary", "telnet"}},
			"connection_commands": map[string]any{"uart0": "telnet a 1", "uart1": "telnet b 2"}}, "command telnet b 2"},
		{"list first", "default", sdk.Values{"connection_list": []any{"uart0"}, "connection_commands": map[string]any{"uart0": "telnet a 1"}}, "command telnet a 1"},
		{"named", "uart1", sdk.Values{"connection_commands": map[string]any{"uart0": "telnet a 1", "uart1": "telnet b 2"}}, "command telnet b 2"},
		{"named missing", "uart9", sdk.Values{"connection_commands": map[string]any{"uart0": "telnet a 1"}}, `has no console "uart9": its dictionary's connection_commands are [uart0]`},
		{"none", "default", sdk.Values{}, "has no console: its dictionary sets none of connection_command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ResolveConnection(tc.dict, tc.conn, "dev-1")
			got := ""
			switch {
			case err != nil:
				got = err.Error()
			case c.Serial != nil:
				got = "serial " + c.Serial.Device + " " + strconv.Itoa(c.Serial.Baud)
			case c.Telnet != "":
				got = "telnet " + c.Telnet
			case c.TCP != "":
				got = "tcp " + c.TCP
			default:
				got = "command " + c.Command
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The job's device-type settings come merged over the driver's defaults
// (the scheduler records them so): a value equal to the driver's default is
// not the admin's, so no command line comes from it.
func TestAdminLayers(t *testing.T) {
	desc := sdk.Description{Settings: []sdk.SettingSpec{
		{Key: "power_off_command", Type: sdk.SettingString, Default: "touch /tmp/evil"},
		{Key: "user_commands", Type: sdk.SettingMap, Default: map[string]any{"x": map[string]any{"do": "evil"}}},
		{Key: "baud_rate", Type: sdk.SettingInt, Default: 115200},
	}}
	typeSettings := map[string]any{
		"power_off_command": "touch /tmp/evil",                                 // the driver's default, recorded
		"user_commands":     map[string]any{"x": map[string]any{"do": "evil"}}, // likewise
		"power_on_command":  "pdu on 3",                                        // the admin's override
		"baud_rate":         float64(9600),                                     // the admin's override, through JSON
	}
	got := AdminLayers(desc, typeSettings, map[string]any{"connection_command": "telnet x 1"})
	if _, ok := got["power_off_command"]; ok {
		t.Errorf("the driver's default power_off_command is in the admin layers: %v", got)
	}
	if _, ok := got["user_commands"]; ok {
		t.Errorf("the driver's default user_commands are in the admin layers: %v", got)
	}
	if got["power_on_command"] != "pdu on 3" || got["baud_rate"] != float64(9600) || got["connection_command"] != "telnet x 1" {
		t.Errorf("admin layers lost the admin's values: %v", got)
	}
}
