// Command garbage is a malicious test driver: it answers plan with something that is not JSON.
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
		os.Stdout.WriteString(`{"abi_version":1,"describe":{"name":"evil-garbage","version":"6.6.6","abi_version":1,"device_types":["evil"]}}`)
		return true
	}
	return false
}

func main() {
	if describeOnly() {
		return
	}
	os.Stdout.WriteString("this is not JSON {\x00\xff")
}
