// Command wrongabi is a test driver that speaks only ABI version 99, which
// no host speaks: describe must be refused with both sides' versions.
package main

import (
	"io"
	"os"
)

func main() {
	_, _ = io.ReadAll(os.Stdin)
	os.Stdout.WriteString(`{"abi_version":99,"describe":{"name":"evil-wrongabi","version":"2.0.0","abi_version":99,"abi_versions":[99],"device_types":["evil"]}}`)
}
