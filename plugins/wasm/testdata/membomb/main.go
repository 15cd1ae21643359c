// Command membomb is a malicious test driver: it allocates until memory runs out on plan.
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
		os.Stdout.WriteString(`{"abi_version":1,"describe":{"name":"evil-membomb","version":"6.6.6","abi_version":1,"device_types":["evil"]}}`)
		return true
	}
	return false
}

func main() {
	if describeOnly() {
		return
	}
	var keep [][]byte
	for {
		b := make([]byte, 4<<20)
		b[len(b)-1] = 1
		keep = append(keep, b)
	}
}
