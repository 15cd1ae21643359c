package ubootimg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// epoch is the timestamp every golden image was made with
// (SOURCE_DATE_EPOCH=1700000000 mkimage ...).
var epoch = time.Unix(1700000000, 0)

// payload is the data the golden images wrap: 1000 bytes of i%251.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

const script = "setenv bootargs console=ttyS0\nbootz\n"

// seekBuf is an in-memory io.WriteSeeker.
type seekBuf struct {
	b   []byte
	off int64
}

func (s *seekBuf) Write(p []byte) (int, error) {
	end := s.off + int64(len(p))
	if end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[s.off:], p)
	s.off = end
	return len(p), nil
}

func (s *seekBuf) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		s.off = off
	case 1:
		s.off += off
	case 2:
		s.off = int64(len(s.b)) + off
	}
	return s.off, nil
}

func encode(t *testing.T, data []byte, h Header) []byte {
	t.Helper()
	var w seekBuf
	if _, err := Encode(&w, bytes.NewReader(data), h); err != nil {
		t.Fatal(err)
	}
	return w.b
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		data   []byte
		header Header
		full   bool // the golden file holds the whole image, not just the header
	}{
		{"ramdisk-arm64.golden", payload(1000), Header{Time: epoch, OS: OSLinux, Arch: ArchARM64, Type: TypeRamdisk}, false},
		{"kernel-arm.golden", payload(1000), Header{Time: epoch, OS: OSLinux, Arch: ArchARM, Type: TypeKernel,
			Compression: CompGzip, Load: 0x80008000, Entry: 0x80008000, Name: "Linux-6.1"}, false},
		{"script-arm.golden", []byte(script), Header{Time: epoch, OS: OSLinux, Arch: ArchARM, Type: TypeScript, Name: "boot"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			got := encode(t, tc.data, tc.header)
			if !tc.full {
				if !bytes.Equal(got[HeaderSize:], tc.data) {
					t.Fatal("data after the header differs from the input")
				}
				got = got[:HeaderSize]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("image differs from mkimage's\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestRamdiskHelperMatchesLAVA(t *testing.T) {
	h := Ramdisk(ArchARM64)
	h.Time = epoch
	want, err := os.ReadFile("testdata/ramdisk-arm64.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got := encode(t, payload(1000), h)[:HeaderSize]; !bytes.Equal(got, want) {
		t.Fatalf("Ramdisk(arm64) header differs from mkimage -A arm64 -T ramdisk -C none\n got %x\nwant %x", got, want)
	}
}

// TestAgainstMkimage compares with the real tool when it is installed.
func TestAgainstMkimage(t *testing.T) {
	mkimage := testenv.NeedTool(t, "mkimage")
	dir := t.TempDir()
	in := filepath.Join(dir, "initrd.cpio.gz")
	data := payload(300_001) // odd size on purpose
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		h    Header
	}{
		{[]string{"-A", "arm64", "-T", "ramdisk", "-C", "none"}, Ramdisk(ArchARM64)},
		{[]string{"-A", "arm", "-T", "ramdisk", "-C", "none"}, Ramdisk(ArchARM)},
		{[]string{"-A", "x86_64", "-O", "linux", "-T", "kernel", "-C", "gzip", "-a", "0x1000000", "-e", "0x1000200", "-n", "exactly-thirty-two-bytes-long-nm"},
			Header{OS: OSLinux, Arch: ArchX86_64, Type: TypeKernel, Compression: CompGzip, Load: 0x1000000, Entry: 0x1000200, Name: "exactly-thirty-two-bytes-long-nm"}},
		{[]string{"-A", "riscv", "-T", "script", "-C", "none", "-n", "boot.scr"}, Header{OS: OSLinux, Arch: ArchRISCV, Type: TypeScript, Name: "boot.scr"}},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			ref := filepath.Join(dir, fmt.Sprintf("ref%d", i))
			cmd := exec.Command(mkimage, append(tc.args, "-d", in, ref)...)
			cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("mkimage: %v\n%s", err, out)
			}
			want, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			mine := filepath.Join(dir, fmt.Sprintf("mine%d", i))
			tc.h.Time = epoch
			if _, err := WrapFile(in, mine, tc.h); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(mine)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("differs from mkimage: header got %x want %x (len %d vs %d)", got[:HeaderSize], want[:HeaderSize], len(got), len(want))
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	h := Header{Time: epoch, OS: OSLinux, Arch: ArchARM64, Type: TypeKernel, Compression: CompZstd,
		Load: 0x40400000, Entry: 0x40400000, Name: "round trip"}
	img := encode(t, payload(4097), h)
	got, err := Verify(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	h.Size, h.DataCRC, h.Time = 4097, got.DataCRC, epoch.UTC()
	h.HeaderCRC = got.HeaderCRC
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
}

func TestVerifyErrors(t *testing.T) {
	img := encode(t, payload(100), Ramdisk(ArchARM))
	corrupt := func(i int) []byte { b := bytes.Clone(img); b[i] ^= 0x40; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short", img[:63], ErrShort},
		{"magic", corrupt(0), ErrMagic},
		{"header crc", corrupt(40), ErrHeaderCRC},
		{"data crc", corrupt(HeaderSize + 5), ErrDataCRC},
		{"truncated data", img[:len(img)-1], ErrDataSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(bytes.NewReader(tc.in)); !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		h    Header
	}{
		{"long name", Header{Time: epoch, Name: "this name is far longer than thirty-two bytes"}},
		{"multi", Header{Time: epoch, Type: TypeMulti}},
		{"time before 1970", Header{Time: time.Unix(-5, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w seekBuf
			if _, err := Encode(&w, bytes.NewReader([]byte("x")), tc.h); err == nil {
				t.Fatal("Encode accepted it")
			}
		})
	}
}

func TestWrapFileLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WrapFile(in, filepath.Join(dir, "out"), Header{Name: string(make([]byte, 40))}); err == nil {
		t.Fatal("WrapFile accepted a 40-byte name")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []string{"arm", "arm64", "aarch64", "x86_64", "riscv", "mips"} {
		if _, err := ParseArch(s); err != nil {
			t.Error(err)
		}
	}
	if a, _ := ParseArch("arm64"); a != ArchARM64 {
		t.Errorf("arm64 = %d", a)
	}
	if _, err := ParseArch("vax"); err == nil {
		t.Error("vax accepted")
	}
	if ty, err := ParseType("ramdisk"); err != nil || ty != TypeRamdisk {
		t.Errorf("ramdisk = %d, %v", ty, err)
	}
	if c, err := ParseCompression("none"); err != nil || c != CompNone {
		t.Errorf("none = %d, %v", c, err)
	}
	if _, err := ParseCompression("brotli"); err == nil {
		t.Error("brotli accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, g := range []string{"ramdisk-arm64.golden", "kernel-arm.golden", "script-arm.golden"} {
		b, err := os.ReadFile(filepath.Join("testdata", g))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x27, 0x05, 0x19, 0x56})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			return
		}
		// A header that parses re-encodes to the same 64 bytes.
		out, err := h.Marshal()
		if err != nil {
			t.Fatalf("parsed header does not marshal: %v", err)
		}
		if !bytes.Equal(out[:32], b[:32]) {
			t.Fatalf("re-encoded fixed fields differ:\n%x\n%x", out[:32], b[:32])
		}
		_, _ = Verify(bytes.NewReader(b))
	})
}
