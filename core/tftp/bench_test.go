package tftp

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkTransfer measures an 8 MiB read over loopback with the block
// sizes U-Boot uses, with and without a window.
func BenchmarkTransfer(b *testing.B) {
	for _, tc := range []struct{ blk, win int }{{512, 1}, {1468, 1}, {1468, 8}, {8192, 1}} {
		b.Run(fmt.Sprintf("blksize=%d/window=%d", tc.blk, tc.win), func(b *testing.B) {
			ts := startB(b, &Server{})
			const size = 8 << 20
			writeFileB(b, ts.root, "Image", pattern(size))
			opts := clientOpts{options: [][2]string{{"blksize", fmt.Sprint(tc.blk)}, {"windowsize", fmt.Sprint(tc.win)}}}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				res, err := clientGet(ts.addr, "Image", opts, io.Discard)
				if err != nil || res.bytes != size {
					b.Fatalf("%d bytes, %v", res.bytes, err)
				}
			}
		})
	}
}
