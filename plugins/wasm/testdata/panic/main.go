// Command panic is a malicious test driver: it panics on plan.
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
		os.Stdout.WriteString(`{"abi_version":1,"describe":{"name":"evil-panic","version":"6.6.6","abi_version":1,"device_types":["evil"]}}`)
		return true
	}
	return false
}

func main() {
	if describeOnly() {
		return
	}
	var m map[string]int
	if len(os.Args) < 100 {
		panic("boom: the driver gave up")
	}
	m["x"] = 1
}
