package expect

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/bench/cpustat"
	"github.com/lavalab/lavalab/sdk"
)

// chunkReader serves data in reads of at most chunk bytes, like a console.
type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func (r *chunkReader) Write(p []byte) (int, error) { return len(p), nil }

// bootLog is a kernel-boot-like console text of about size bytes, with CRLF
// line ends and some colour escapes, that none of the benchmark patterns
// matches, followed by the end marker.
func bootLog(size int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "[%5d.%06d] virtio_blk virtio%d: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)\r\n", i/1000, i%1000000, i%8)
		case 1:
			fmt.Fprintf(&b, "[%5d.%06d] \x1b[0;32mOK\x1b[0m Started systemd-udevd.service - Rule-based Manager for Device Events.\r\n", i/1000, i%1000000)
		case 2:
			fmt.Fprintf(&b, "Loading: #################################################################\r\n")
		default:
			fmt.Fprintf(&b, "[%5d.%06d] pl061_gpio 9030000.pl061: PL061 GPIO chip registered; irq %d\r\n", i/1000, i%1000000, i)
		}
	}
	b.WriteString("BENCH-END-MARKER\r\n")
	return []byte(b.String())
}

// benchPatterns are ten patterns of the kinds jobs use: plain prompts and
// error messages, regexes with and without a literal prefix.
var benchPatterns = []sdk.Pattern{
	{Regex: "=> "},
	{Regex: "Hit any key to stop autoboot"},
	{Regex: "Kernel panic - not syncing", Fail: true},
	{Regex: "(?i)login incorrect", Fail: true},
	{Regex: "Linux version [0-9]"},
	{Regex: `root@[a-z0-9-]+:~# `},
	{Regex: "(Retry count exceeded|ERROR: can't get kernel image)", Fail: true},
	{Regex: `lava-test: # `},
	{Regex: `[Ee]nd of [Tt]race`},
	{Regex: "BENCH-END-MARKER"},
}

func BenchmarkExpect10Patterns(b *testing.B) {
	data := bootLog(4 << 20)
	set, err := Compile(benchPatterns...)
	if err != nil {
		b.Fatal(err)
	}
	for _, chunk := range []int{256, 4096} {
		b.Run(fmt.Sprintf("read%d", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			ctx := context.Background()
			c0, n := cpustat.Self(), 0
			defer func() {
				// Throughput per CPU-second: MB/s per core, whatever else
				// the machine runs.
				if cpu := (cpustat.Self() - c0).Seconds(); cpu > 0 {
					b.ReportMetric(float64(n)*float64(len(data))/1e6/cpu, "MB/cpu-s")
				}
			}()
			for b.Loop() {
				n++
				e := New(&chunkReader{data: data, chunk: chunk}, Options{
					Logger: func(string) {}, OnLine: func(string) {},
				})
				m, err := e.Expect(ctx, set, time.Minute)
				if err != nil || m.Index != 9 {
					b.Fatalf("match %d, %v", m.Index, err)
				}
				<-e.Done()
			}
		})
	}
}

func BenchmarkClean(b *testing.B) {
	data := bootLog(4 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var sc screen
		var c cleaner
		c.feed(&sc, data)
	}
}
