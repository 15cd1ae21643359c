package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// realPlanRequest is what the host sends for a soca9 ramdisk boot: the
// driver's setting defaults, as plugins/wasm's BenchmarkDeviceTypeDrivers
// asks (2.5 KB).
const realPlanRequest = `{"abi_version":1,"op":"plan","plan":{"job_id":"42","action":{"kind":"boot","method":"u-boot","level":"2","params":{"commands":"ramdisk","prompts":["/ # "]}},"settings":{"add_header":"u-boot","append_dtb":false,"base_high_limits":false,"base_ip_args":"","base_kernel_args":"root=/dev/mmcblk0p2 rw rootwait coherent_pool=2M;","baud_rate":115200,"boot_character_delay":0,"boot_message":"","booti_dtb_addr":"0x81000000","booti_kernel_addr":"","booti_ramdisk_addr":"0x82000000","booti_tee_addr":"0x83000000","bootloader_prompt":"=\u003e","bootm_dtb_addr":"0x81000000","bootm_kernel_addr":"","bootm_ramdisk_addr":"0x82000000","bootm_tee_addr":"0x83000000","bootz_dtb_addr":"0x00001000","bootz_kernel_addr":"0x01000000","bootz_ramdisk_addr":"-","bootz_tee_addr":"0x83000000","connection_command":"telnet localhost 7001","console_databits":8,"console_device":"ttyS0","console_parity":"n","extra_kernel_args":"","extra_nfsroot_args":"","hard_reset_command":"","interrupt_char":"","interrupt_prompt":"Hit any key to stop autoboot","kernel_start_message":"Linux version [0-9]","power_off_command":"","power_on_command":"","pre_power_command":"","static_dns":"","static_gateway":"","static_ip":"","static_netmask":"","test_character_delay":0,"uboot_bootx_cmd":"","uboot_error_messages":["Resetting CPU","Must RESET board to recover","TIMEOUT","Retry count exceeded","Retry time exceeded; starting again","ERROR: The remote end did not respond in time.","File not found","Bad Linux ARM64 Image magic!","Wrong Ramdisk Image Format","Ramdisk image is corrupt or invalid","ERROR: Failed to allocate","TFTP error: trying to overwrite reserved memory","Bad Linux RISCV Image magic!","Wrong Image Format for boot","ERROR: Did not find a cmdline Flattened Device Tree","ERROR: RD image overlaps OS image"],"uboot_extra_commands":[],"uboot_extra_error_message":"","uboot_fdt_high":"0xffffffff","uboot_final_message":"Starting kernel","uboot_initrd_high":"0xffffffff","uboot_interrupt_newline":true,"uboot_ipaddr_cmd":"dhcp","uboot_load_fdt":"tftp {DTB_ADDR} {DTB}","uboot_mac_addr":"","uboot_mkimage_arch":"arm","uboot_needs_interrupt":true,"uboot_needs_usb":false,"uboot_set_mac":false,"uboot_tftp_commands":[],"uboot_usb_commands":["usb start"],"usb_device_id":0,"user_commands":{}},"device":{"hostname":"soca9-01","device_type":"soca9"},"worker":{"server_ip":"192.0.2.2","artifacts":{"dtb":{"tftp_path":"42/dtb/board.dtb"},"kernel":{"tftp_path":"42/kernel/Image","type":"zimage"},"ramdisk":{"tftp_path":"42/ramdisk/rootfs.cpio.gz","uboot_header":true}}}}}`

type decodeCase struct {
	name string
	in   string
	// fast: decodeRequest decodes it itself (else errSlowPath).
	fast bool
	// ok: json.Unmarshal accepts it.
	ok bool
}

func nested(depth int) string {
	return `{"plan":{"action":{"params":{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}}}`
}

var decodeCases = []decodeCase{
	{"real plan", realPlanRequest, true, true},
	{"describe", `{"abi_version":1,"op":"describe"}`, true, true},
	{"whitespace", " \t\r\n{ \"abi_version\" :\n1 , \"op\"\t:\"plan\" ,\"plan\" : { \"settings\" : { \"a\" : [ 1 , true , null , { } , [ ] ] } } } \n", true, true},
	{"every field", `{"abi_version":1,"op":"plan","plan":{"job_id":"1","action":{"kind":"boot","method":"u-boot","level":"1","namespace":"n","params":{"a":[1,"x",true,{"k":null}]}},"context":{"k":"v"},"settings":{"k":"v"},"device":{"hostname":"h","device_type":"d"},"worker":{"server_ip":"x","nfs_server_ip":"y","http_base_url":"z","artifacts":{"kernel":{"tftp_path":"a","local_path":"b","url":"c","type":"d","uboot_header":true,"image_arg":"e","format":"f"}}}}}`, true, true},
	{"nested params", `{"abi_version":1,"op":"plan","plan":{"action":{"kind":"test","params":{"a":[1,-0,0,0.5,-0.5,1e3,1E+3,-2.5E-3,1.7976931348623157e308,5e-324,123456789012345,1234567890123456,12345678901234567890,[],{},[null,true,false],{"x":{"y":[{"z":"w"}]}}],"b":{"c":{"d":null,"e":false,"f":[[[]]]}}}},"context":{"arch":"arm64","memory":1024,"extra":["a",{"b":"c"}]}}}`, true, true},
	{"unicode", `{"op":"\u00e9\ud83d\ude00 é 😀 \u20AC \uFFFD","plan":{"job_id":"日本語","settings":{"clé":"välue","😀":"\ud83d\ude00"}}}`, true, true},
	{"escapes", `{"op":"\"\\\/\b\f\n\r\t\u0000\u001f\u003c\u003e\u0026","plan":{"settings":{"k\n\"":"v\\"}}}`, true, true},
	{"lone surrogates", `{"op":"\ud800x\udc00\ud800\ud800\udc00\udbff\udfff\ud800\u0041\udfff\ud800","plan":{"job_id":"\ud800\\u0041"}}`, true, true},
	{"invalid utf-8", "{\"op\":\"a\xffb\xc3\x28\xe2\x82\xed\xa0\x80\xf0\x9f\x98\",\"plan\":{\"settings\":{\"k\xfe\":\"\xc0\xaf\"}}}", true, true},
	{"invalid utf-8 in a field key", "{\"op\":\"a\",\"o\xffp\":\"b\"}", false, true},
	{"unknown keys", `{"abi_version":1,"op":"plan","extra":{"a":[1,2,{"b":null}]},"plan":{"x_y":1,"action":{"kind":"boot","zz":null},"device":{"hostname":"h","other":"x"},"worker":{"artifacts":{"k":{"tftp_path":"p","what":true}},"more":[]},"9":"\u0041"},"":0}`, true, true},
	{"unknown key with escapes", `{"op\u0000":"x","opx":1,"o\u0070":"y"}`, true, true},
	{"case-different keys", `{"ABI_version":1,"Op":"plan","Plan":{"Job_ID":"1","ACTION":{"Kind":"boot"}}}`, false, true},
	{"case-different unknown key", `{"abi_version":1,"op":"x","Unknown":1}`, false, true},
	{"case-different nested key", `{"abi_version":1,"plan":{"worker":{"artifacts":{"k":{"URL":"u"}}}}}`, false, true},
	{"kelvin sign", `{"plan":{"action":{"\u212aind":"boot"}}}`, false, true},
	{"long s", `{"plan":{"action":{"method":"m","\u017fettings":1},"\u017fettings":{"a":1}}}`, false, true},
	{"duplicate keys", `{"op":"a","op":"b","plan":{"action":{"kind":"x","params":{"a":1,"c":[1]}},"action":{"method":"m","params":{"b":2,"c":null}},"settings":{"k":1,"k":2}},"plan":{"job_id":"j"}}`, true, true},
	{"duplicate artifacts", `{"plan":{"worker":{"artifacts":{"k":{"url":"u","type":"t"},"k":{"url":"v"},"j":{}},"artifacts":{"l":null}}}}`, true, true},
	{"nulls", `{"abi_version":null,"op":null,"plan":{"job_id":null,"action":null,"context":null,"settings":{"a":null},"device":null,"worker":{"artifacts":{"k":null},"server_ip":null}}}`, true, true},
	{"null keeps", `{"abi_version":1,"abi_version":null,"op":"x","op":null,"plan":{"job_id":"1","job_id":null,"action":{"kind":"k","params":{"a":1}},"action":null,"device":{"hostname":"h"},"device":null,"worker":{"server_ip":"s","artifacts":{"k":{"uboot_header":true,"uboot_header":null}}},"worker":null}}`, true, true},
	{"null resets", `{"plan":{"job_id":"1","settings":{"a":1},"settings":null,"context":{"b":1},"context":null,"context":{"c":2},"worker":{"artifacts":{"a":{}},"artifacts":null}},"plan":null}`, true, true},
	{"null plan then plan", `{"plan":null,"plan":{"job_id":"2"}}`, true, true},
	{"top-level null", `null`, true, true},
	{"top-level null with space", " null \n", true, true},
	{"empty objects", `{"plan":{"settings":{},"context":{},"action":{"params":{}},"worker":{"artifacts":{"k":{}}},"device":{}}}`, true, true},
	{"empty", `{}`, true, true},
	{"abi_version -0", `{"abi_version":-0}`, true, true},
	{"abi_version negative", `{"abi_version":-7}`, true, true},
	{"abi_version 18 digits", `{"abi_version":123456789012345678}`, true, true},
	{"abi_version max int64", `{"abi_version":9223372036854775807}`, false, true},
	{"abi_version over int64", `{"abi_version":9223372036854775808}`, false, false},
	{"deep nesting", nested(1500), false, true},
	{"nesting at the limit", nested(maxDepth - 3), true, true},
	{"too deep for encoding/json", nested(10001), false, false},

	// Errors.
	{"empty input", ``, false, false},
	{"only space", "  \n", false, false},
	{"truncated real", realPlanRequest[:len(realPlanRequest)/2], false, false},
	{"truncated real by one", realPlanRequest[:len(realPlanRequest)-1], false, false},
	{"truncated key", `{"abi_version":1`, false, false},
	{"truncated string", `{"op":"pl`, false, false},
	{"truncated array", `{"plan":{"settings":{"a":[1,2`, false, false},
	{"truncated escape", `{"op":"\`, false, false},
	{"truncated unicode escape", `{"op":"\u00"}`, false, false},
	{"truncated literal", `{"op":nul`, false, false},
	{"truncated number", `{"abi_version":-`, false, false},
	{"trailing garbage", `{} x`, false, false},
	{"two values", `{}{}`, false, false},
	{"trailing bracket", `{"op":"plan"}]`, false, false},
	{"two nulls", `null null`, false, false},
	{"trailing nul byte", "{}\x00", false, false},
	{"abi_version string", `{"abi_version":"1"}`, false, false},
	{"abi_version bool", `{"abi_version":true}`, false, false},
	{"op number", `{"op":1}`, false, false},
	{"op object", `{"op":{}}`, false, false},
	{"plan array", `{"plan":[]}`, false, false},
	{"plan string", `{"plan":"x"}`, false, false},
	{"action string", `{"plan":{"action":"boot"}}`, false, false},
	{"settings array", `{"plan":{"settings":[]}}`, false, false},
	{"settings string", `{"plan":{"settings":"x"}}`, false, false},
	{"device number", `{"plan":{"device":1}}`, false, false},
	{"artifacts array", `{"plan":{"worker":{"artifacts":[]}}}`, false, false},
	{"artifact string", `{"plan":{"worker":{"artifacts":{"k":"x"}}}}`, false, false},
	{"uboot_header string", `{"plan":{"worker":{"artifacts":{"k":{"uboot_header":"true"}}}}}`, false, false},
	{"uboot_header number", `{"plan":{"worker":{"artifacts":{"k":{"uboot_header":1}}}}}`, false, false},
	{"top-level array", `[]`, false, false},
	{"top-level string", `"x"`, false, false},
	{"top-level number", `1`, false, false},
	{"top-level true", `true`, false, false},
	{"abi_version 1.5", `{"abi_version":1.5,"op":"describe"}`, false, false},
	{"abi_version 1.0", `{"abi_version":1.0}`, false, false},
	{"abi_version 1e0", `{"abi_version":1e0}`, false, false},
	{"leading zero", `{"abi_version":01}`, false, false},
	{"leading zeros in params", `{"plan":{"settings":{"a":00}}}`, false, false},
	{"negative leading zero", `{"plan":{"settings":{"a":-01}}}`, false, false},
	{"plus sign", `{"plan":{"settings":{"a":+1}}}`, false, false},
	{"bare fraction", `{"plan":{"settings":{"a":.5}}}`, false, false},
	{"dot without digits", `{"plan":{"settings":{"a":1.}}}`, false, false},
	{"exponent without digits", `{"plan":{"settings":{"a":1e}}}`, false, false},
	{"exponent sign only", `{"plan":{"settings":{"a":1e+}}}`, false, false},
	{"hex", `{"plan":{"settings":{"a":0x10}}}`, false, false},
	{"infinity", `{"plan":{"settings":{"a":Infinity}}}`, false, false},
	{"out of range", `{"plan":{"settings":{"a":1e400}}}`, false, false},
	{"out of range in unknown key", `{"zz":-1e400}`, false, true}, // encoding/json skips it unconverted
	{"control char", "{\"op\":\"a\x01b\"}", false, false},
	{"raw newline", "{\"op\":\"a\nb\"}", false, false},
	{"raw tab in params", "{\"plan\":{\"settings\":{\"a\":\"x\ty\"}}}", false, false},
	{"control char in key", "{\"o\x1fp\":\"a\"}", false, false},
	{"bad escape", `{"op":"\x"}`, false, false},
	{"quote escape", `{"op":"\'"}`, false, false},
	{"short unicode escape", `{"op":"\u12"}`, false, false},
	{"bad hex", `{"op":"\u12G4"}`, false, false},
	{"bad hex after surrogate", `{"op":"\ud800\u12G4"}`, false, false},
	{"trailing comma", `{"op":"a",}`, false, false},
	{"trailing comma in array", `{"plan":{"settings":{"a":[1,]}}}`, false, false},
	{"leading comma", `{,"op":"a"}`, false, false},
	{"missing colon", `{"op" "a"}`, false, false},
	{"missing comma", `{"op":"a" "abi_version":1}`, false, false},
	{"missing comma in array", `{"plan":{"settings":{"a":[1 2]}}}`, false, false},
	{"single quotes", `{'op':'a'}`, false, false},
	{"unquoted key", `{op:"a"}`, false, false},
	{"number key", `{"plan":{"settings":{1:2}}}`, false, false},
	{"bad literal", `{"op":tru}`, false, false},
	{"bad literal in params", `{"plan":{"settings":{"a":nulL}}}`, false, false},
	{"literal run-on", `{"plan":{"settings":{"a":truex}}}`, false, false},
	{"bad literal in unknown key", `{"zz":fals}`, false, false},
	{"unclosed object", `{"plan":{"settings":{}}`, false, false},
	{"mismatched bracket", `{"plan":{"settings":{"a":[}]}}`, false, false},
	{"byte order mark", "\ufeff{}", false, false},
}

// checkDecode compares readRequest with json.Unmarshal on in.
func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	var want Request
	werr := json.Unmarshal(in, &want)
	got, gerr := readRequest(in)
	switch {
	case werr == nil && gerr != nil:
		t.Fatalf("%q: encoding/json decodes it, readRequest fails: %v", in, gerr)
	case werr != nil && gerr == nil:
		t.Fatalf("%q: encoding/json fails (%v), readRequest decodes %#v", in, werr, got)
	case werr != nil && gerr.Error() != werr.Error():
		t.Fatalf("%q: error %q, encoding/json's is %q", in, gerr, werr)
	case werr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\nreadRequest  %s\nencoding/json %s", in, dump(got), dump(want))
	}
}

// dump shows a request with its types (%#v would only print pointers).
func dump(r Request) string { return fmtAny(reflect.ValueOf(r)) }

func fmtAny(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return "&" + fmtAny(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return fmtAny(v.Elem())
	case reflect.Struct:
		var b strings.Builder
		b.WriteString(v.Type().Name() + "{")
		for i := range v.NumField() {
			b.WriteString(v.Type().Field(i).Name + ":" + fmtAny(v.Field(i)) + " ")
		}
		return b.String() + "}"
	case reflect.Map:
		if v.IsNil() {
			return v.Type().String() + "(nil)"
		}
		var b strings.Builder
		b.WriteString(v.Type().String() + "{")
		for _, k := range v.MapKeys() {
			b.WriteString(k.String() + ":" + fmtAny(v.MapIndex(k)) + " ")
		}
		return b.String() + "}"
	case reflect.Slice:
		if v.IsNil() {
			return v.Type().String() + "(nil)"
		}
		var b strings.Builder
		b.WriteString(v.Type().String() + "{")
		for i := range v.Len() {
			b.WriteString(fmtAny(v.Index(i)) + " ")
		}
		return b.String() + "}"
	case reflect.String:
		return strconv.Quote(v.String())
	}
	return v.Type().String() + "(" + strings.TrimSpace(fmtValue(v)) + ")"
}

func fmtValue(v reflect.Value) string {
	b, _ := json.Marshal(v.Interface())
	return string(b)
}

func TestDecodeRequest(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			var want Request
			if err := json.Unmarshal(in, &want); (err == nil) != c.ok {
				t.Fatalf("encoding/json: %v, the case says ok=%v", err, c.ok)
			}
			if _, err := decodeRequest(in); (err == nil) != c.fast {
				t.Errorf("decodeRequest: %v, the case says fast=%v", err, c.fast)
			} else if err != nil && err != errSlowPath {
				t.Errorf("decodeRequest: %v, want only errSlowPath", err)
			}
			checkDecode(t, in)
		})
	}
}

// TestDecodeRequestPretty decodes the real request as indented JSON and
// as json.Marshal writes it from its own decoding.
func TestDecodeRequestPretty(t *testing.T) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(realPlanRequest), "", "\t"); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRequest(buf.Bytes()); err != nil {
		t.Fatalf("indented: %v", err)
	}
	checkDecode(t, buf.Bytes())
}

// TestDecodeRequestEveryField fills every field of Request and what it
// holds, and checks that the fast path decodes all of them: a field added
// to abi.go but not to the decoder would be skipped as an unknown key.
// It also checks what unknown() relies on: every json name is lower-case
// ASCII.
func TestDecodeRequestEveryField(t *testing.T) {
	var r Request
	fill(t, reflect.ValueOf(&r).Elem(), "")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRequest(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("%s:\ngot  %s\nwant %s", b, dump(got), dump(r))
	}
	checkDecode(t, b)
	if err := warmUp(); err != nil {
		t.Errorf("warmUp's request is not of the common shape: %v", err)
	}
}

func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s.%s: no json name", path, f.Name)
			}
			for _, c := range []byte(name) {
				if c >= 0x80 || 'A' <= c && c <= 'Z' {
					t.Fatalf("%s.%s: json name %q is not lower-case ASCII", path, f.Name, name)
				}
			}
			fill(t, v.Field(i), path+"."+name)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.String:
		v.SetString("s" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(7)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf([]any{"x", 1.5, true, nil, map[string]any{"k": []any{}}}))
		} else {
			fill(t, e, path+"[k]")
		}
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	default:
		t.Fatalf("%s: kind %s not handled by the test", path, v.Kind())
	}
}

// FuzzDecodeRequest checks readRequest, what handle uses, against
// encoding/json: the same request when it decodes, the same error when
// it does not.
func FuzzDecodeRequest(f *testing.F) {
	for _, c := range decodeCases {
		if len(c.in) < 4096 {
			f.Add([]byte(c.in))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in)
	})
}

func BenchmarkDecodeRequest(b *testing.B) {
	in := []byte(realPlanRequest)
	b.Run("decodeRequest", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := decodeRequest(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var r Request
			if err := json.Unmarshal(in, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
