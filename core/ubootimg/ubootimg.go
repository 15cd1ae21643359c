package ubootimg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Magic is the legacy image magic number (IH_MAGIC).
const Magic = 0x27051956

// HeaderSize is the size of a legacy image header.
const HeaderSize = 64

// NameLen is the size of the name field; a name of exactly NameLen bytes has
// no terminating NUL, as with mkimage.
const NameLen = 32

// MaxScriptSize bounds the payload of a script image, which is held in
// memory because its size prefix precedes the data.
const MaxScriptSize = 16 << 20

// OS is the ih_os field.
type OS uint8

// Operating systems (subset of U-Boot's IH_OS_* list).
const (
	OSInvalid OS = 0
	OSNetBSD  OS = 2
	OSLinux   OS = 5
	OSVxWorks OS = 14
	OSQNX     OS = 16
	OSUBoot   OS = 17
	OSRTEMS   OS = 18
	OSATF     OS = 25
	OSTEE     OS = 26
	OSOpenSBI OS = 27
	OSEFI     OS = 28
)

// Arch is the ih_arch field.
type Arch uint8

// Architectures (U-Boot's IH_ARCH_* values).
const (
	ArchInvalid    Arch = 0
	ArchAlpha      Arch = 1
	ArchARM        Arch = 2
	ArchI386       Arch = 3
	ArchIA64       Arch = 4
	ArchMIPS       Arch = 5
	ArchMIPS64     Arch = 6
	ArchPPC        Arch = 7
	ArchS390       Arch = 8
	ArchSH         Arch = 9
	ArchSPARC      Arch = 10
	ArchSPARC64    Arch = 11
	ArchM68K       Arch = 12
	ArchMicroBlaze Arch = 14
	ArchNIOS2      Arch = 15
	ArchBlackfin   Arch = 16
	ArchAVR32      Arch = 17
	ArchST200      Arch = 18
	ArchSandbox    Arch = 19
	ArchNDS32      Arch = 20
	ArchOpenRISC   Arch = 21
	ArchARM64      Arch = 22
	ArchARC        Arch = 23
	ArchX86_64     Arch = 24
	ArchXtensa     Arch = 25
	ArchRISCV      Arch = 26
)

// Type is the ih_type field.
type Type uint8

// Image types (subset of U-Boot's IH_TYPE_* values).
const (
	TypeInvalid    Type = 0
	TypeStandalone Type = 1
	TypeKernel     Type = 2
	TypeRamdisk    Type = 3
	TypeMulti      Type = 4
	TypeFirmware   Type = 5
	TypeScript     Type = 6
	TypeFilesystem Type = 7
	TypeFlatDT     Type = 8
)

// Compression is the ih_comp field.
type Compression uint8

// Compressions (U-Boot's IH_COMP_* values).
const (
	CompNone  Compression = 0
	CompGzip  Compression = 1
	CompBzip2 Compression = 2
	CompLZMA  Compression = 3
	CompLZO   Compression = 4
	CompLZ4   Compression = 5
	CompZstd  Compression = 6
)

var archNames = map[string]Arch{
	"alpha": ArchAlpha, "arm": ArchARM, "x86": ArchI386, "i386": ArchI386, "ia64": ArchIA64,
	"mips": ArchMIPS, "mips64": ArchMIPS64, "powerpc": ArchPPC, "ppc": ArchPPC, "s390": ArchS390,
	"sh": ArchSH, "sparc": ArchSPARC, "sparc64": ArchSPARC64, "m68k": ArchM68K,
	"microblaze": ArchMicroBlaze, "nios2": ArchNIOS2, "blackfin": ArchBlackfin, "avr32": ArchAVR32,
	"st200": ArchST200, "sandbox": ArchSandbox, "nds32": ArchNDS32, "or1k": ArchOpenRISC,
	"arm64": ArchARM64, "aarch64": ArchARM64, "arc": ArchARC, "x86_64": ArchX86_64, "amd64": ArchX86_64,
	"xtensa": ArchXtensa, "riscv": ArchRISCV,
}

// ParseArch maps an mkimage -A name (and the Go/Debian aliases aarch64,
// amd64) to an Arch.
func ParseArch(s string) (Arch, error) {
	if a, ok := archNames[strings.ToLower(s)]; ok {
		return a, nil
	}
	return ArchInvalid, fmt.Errorf("ubootimg: unknown architecture %q", s)
}

// ParseType maps an mkimage -T name to a Type.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "standalone":
		return TypeStandalone, nil
	case "kernel":
		return TypeKernel, nil
	case "ramdisk":
		return TypeRamdisk, nil
	case "multi":
		return TypeMulti, nil
	case "firmware":
		return TypeFirmware, nil
	case "script":
		return TypeScript, nil
	case "filesystem":
		return TypeFilesystem, nil
	case "flat_dt":
		return TypeFlatDT, nil
	}
	return TypeInvalid, fmt.Errorf("ubootimg: unknown image type %q", s)
}

// ParseCompression maps an mkimage -C name to a Compression.
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(s) {
	case "none", "":
		return CompNone, nil
	case "gzip":
		return CompGzip, nil
	case "bzip2":
		return CompBzip2, nil
	case "lzma":
		return CompLZMA, nil
	case "lzo":
		return CompLZO, nil
	case "lz4":
		return CompLZ4, nil
	case "zstd":
		return CompZstd, nil
	}
	return CompNone, fmt.Errorf("ubootimg: unknown compression %q", s)
}

// Header is a decoded legacy image header. HeaderCRC, DataCRC and Size are
// filled in by the writer; a caller sets the rest.
type Header struct {
	HeaderCRC   uint32
	Time        time.Time // seconds resolution; zero means now when writing
	Size        uint32    // data size in bytes
	Load        uint32    // load address
	Entry       uint32    // entry point
	DataCRC     uint32
	OS          OS
	Arch        Arch
	Type        Type
	Compression Compression
	Name        string // at most NameLen bytes
}

// Ramdisk returns the header LAVA asks mkimage for (`-A arch -T ramdisk -C
// none`): OS Linux (mkimage's default), addresses 0, empty name.
func Ramdisk(arch Arch) Header {
	return Header{OS: OSLinux, Arch: arch, Type: TypeRamdisk, Compression: CompNone}
}

// Marshal encodes h, computing HeaderCRC over the other fields. Size and
// DataCRC are taken as given.
func (h Header) Marshal() ([]byte, error) {
	if len(h.Name) > NameLen {
		return nil, fmt.Errorf("ubootimg: name %q is longer than %d bytes", h.Name, NameLen)
	}
	ts := h.Time.Unix()
	if ts < 0 || ts > 0xFFFFFFFF {
		return nil, fmt.Errorf("ubootimg: time %v does not fit the 32-bit timestamp", h.Time)
	}
	b := make([]byte, HeaderSize)
	be := binary.BigEndian
	be.PutUint32(b[0:], Magic)
	be.PutUint32(b[8:], uint32(ts))
	be.PutUint32(b[12:], h.Size)
	be.PutUint32(b[16:], h.Load)
	be.PutUint32(b[20:], h.Entry)
	be.PutUint32(b[24:], h.DataCRC)
	b[28] = byte(h.OS)
	b[29] = byte(h.Arch)
	b[30] = byte(h.Type)
	b[31] = byte(h.Compression)
	copy(b[32:], h.Name)
	be.PutUint32(b[4:], crc32.ChecksumIEEE(b))
	return b, nil
}

// Errors returned by Parse and Verify.
var (
	ErrShort     = errors.New("ubootimg: shorter than a 64-byte header")
	ErrMagic     = errors.New("ubootimg: bad magic (not a U-Boot legacy image)")
	ErrHeaderCRC = errors.New("ubootimg: header CRC mismatch")
	ErrDataCRC   = errors.New("ubootimg: data CRC mismatch")
	ErrDataSize  = errors.New("ubootimg: data shorter than the header says")
)

// Parse decodes the first HeaderSize bytes of b and checks the magic and the
// header CRC.
func Parse(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShort
	}
	be := binary.BigEndian
	if be.Uint32(b[0:]) != Magic {
		return Header{}, ErrMagic
	}
	var tmp [HeaderSize]byte
	copy(tmp[:], b[:HeaderSize])
	want := be.Uint32(tmp[4:])
	be.PutUint32(tmp[4:], 0)
	if got := crc32.ChecksumIEEE(tmp[:]); got != want {
		return Header{}, fmt.Errorf("%w: stored %08x, computed %08x", ErrHeaderCRC, want, got)
	}
	name := tmp[32:HeaderSize]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return Header{
		HeaderCRC:   want,
		Time:        time.Unix(int64(be.Uint32(tmp[8:])), 0).UTC(),
		Size:        be.Uint32(tmp[12:]),
		Load:        be.Uint32(tmp[16:]),
		Entry:       be.Uint32(tmp[20:]),
		DataCRC:     be.Uint32(tmp[24:]),
		OS:          OS(tmp[28]),
		Arch:        Arch(tmp[29]),
		Type:        Type(tmp[30]),
		Compression: Compression(tmp[31]),
		Name:        string(name),
	}, nil
}

// Verify reads a header and its data from r and checks both CRCs, streaming
// the data. It returns the header.
func Verify(r io.Reader) (Header, error) {
	b := make([]byte, HeaderSize)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Header{}, ErrShort
		}
		return Header{}, fmt.Errorf("ubootimg: read header: %w", err)
	}
	h, err := Parse(b)
	if err != nil {
		return Header{}, err
	}
	c := crc32.NewIEEE()
	n, err := io.Copy(c, io.LimitReader(r, int64(h.Size)))
	if err != nil {
		return h, fmt.Errorf("ubootimg: read data: %w", err)
	}
	if n != int64(h.Size) {
		return h, fmt.Errorf("%w: %d of %d bytes", ErrDataSize, n, h.Size)
	}
	if got := c.Sum32(); got != h.DataCRC {
		return h, fmt.Errorf("%w: stored %08x, computed %08x", ErrDataCRC, h.DataCRC, got)
	}
	return h, nil
}

// Encode writes an image (header + data) to w, reading data once. It writes
// a placeholder header, streams the data while computing its CRC32 and size,
// then seeks back to where it started and writes the final header. For a
// script image the data is prefixed, as mkimage does, by its 32-bit size and
// a zero terminator; the script is then held in memory (at most
// MaxScriptSize bytes). It returns the header written.
func Encode(w io.WriteSeeker, data io.Reader, h Header) (Header, error) {
	if h.Time.IsZero() {
		h.Time = time.Now()
	}
	h.Time = h.Time.Truncate(time.Second)
	if h.Type == TypeMulti {
		return h, errors.New("ubootimg: multi-file images are not supported")
	}
	if _, err := h.Marshal(); err != nil { // validate before writing anything
		return h, err
	}
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return h, fmt.Errorf("ubootimg: seek: %w", err)
	}
	if _, err := w.Write(make([]byte, HeaderSize)); err != nil {
		return h, fmt.Errorf("ubootimg: write header: %w", err)
	}
	c := crc32.NewIEEE()
	var size int64
	if h.Type == TypeScript {
		script, err := io.ReadAll(io.LimitReader(data, MaxScriptSize+1))
		if err != nil {
			return h, fmt.Errorf("ubootimg: read script: %w", err)
		}
		if len(script) > MaxScriptSize {
			return h, fmt.Errorf("ubootimg: script larger than %d bytes", MaxScriptSize)
		}
		prefix := make([]byte, 8)
		binary.BigEndian.PutUint32(prefix, uint32(len(script)))
		data = io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(script))
	}
	size, err = io.Copy(io.MultiWriter(w, c), data)
	if err != nil {
		return h, fmt.Errorf("ubootimg: copy data: %w", err)
	}
	if size > 0xFFFFFFFF {
		return h, fmt.Errorf("ubootimg: data of %d bytes does not fit the 32-bit size", size)
	}
	h.Size = uint32(size)
	h.DataCRC = c.Sum32()
	b, err := h.Marshal()
	if err != nil {
		return h, err
	}
	h.HeaderCRC = binary.BigEndian.Uint32(b[4:])
	if _, err := w.Seek(start, io.SeekStart); err != nil {
		return h, fmt.Errorf("ubootimg: seek back: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return h, fmt.Errorf("ubootimg: write header: %w", err)
	}
	if _, err := w.Seek(start+HeaderSize+size, io.SeekStart); err != nil {
		return h, fmt.Errorf("ubootimg: seek to end: %w", err)
	}
	return h, nil
}

// WrapFile writes the image of the file in to out (like `mkimage ... -d in
// out`). out is written to a temporary file in its folder and renamed into
// place, so a failure never leaves a partial image behind.
func WrapFile(in, out string, h Header) (Header, error) {
	src, err := os.Open(in)
	if err != nil {
		return h, fmt.Errorf("ubootimg: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return h, fmt.Errorf("ubootimg: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h, err = Encode(tmp, src, h)
	if err != nil {
		tmp.Close()
		return h, fmt.Errorf("ubootimg: wrap %s: %w", in, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return h, fmt.Errorf("ubootimg: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return h, fmt.Errorf("ubootimg: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return h, fmt.Errorf("ubootimg: %w", err)
	}
	return h, nil
}
