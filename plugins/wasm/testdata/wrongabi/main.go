// Command wrongabi is a test driver that speaks ABI version 2.
package main

import (
	"io"
	"os"
)

func main() {
	_, _ = io.ReadAll(os.Stdin)
	os.Stdout.WriteString(`{"abi_version":2,"describe":{"name":"evil-wrongabi","version":"2.0.0","abi_version":2,"device_types":["evil"]}}`)
}
