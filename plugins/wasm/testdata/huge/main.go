// Command huge is a malicious test driver: it answers plan with 100 MB.
package main

import (
	"bytes"
	"io"
	"os"
)

// describeOnly answers describe like a good driver and returns false for any
// other request.
func describeOnly() bool {
	in, _ := io.ReadAll(os.Stdin)
	if bytes.Contains(in, []byte(`"op":"describe"`)) {
		os.Stdout.WriteString(`{"abi_version":1,"describe":{"name":"evil-huge","version":"6.6.6","abi_version":1,"device_types":["evil"]}}`)
		return true
	}
	return false
}

func main() {
	if describeOnly() {
		return
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 100<<20/len(chunk); i++ {
		os.Stdout.Write(chunk)
	}
}
