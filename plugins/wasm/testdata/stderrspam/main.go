// Command stderrspam is a malicious test driver: it writes 10 MB on stderr, then a valid plan.
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
		os.Stdout.WriteString(`{"abi_version":1,"describe":{"name":"evil-stderrspam","version":"6.6.6","abi_version":1,"device_types":["evil"]}}`)
		return true
	}
	return false
}

func main() {
	if describeOnly() {
		return
	}
	line := bytes.Repeat([]byte("noise "), 1000)
	for i := 0; i < 10<<20/len(line); i++ {
		os.Stderr.Write(line)
	}
	os.Stdout.WriteString(`{"abi_version":1,"plan":{"steps":[{"kind":"disconnect","name":"bye"}]}}`)
}
