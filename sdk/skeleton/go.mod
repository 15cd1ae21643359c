// The skeleton of a WASM device-type driver. A copy outside this
// repository: change the module path, and replace the v0.0.0 versions and
// the replace lines with released versions of the lab's modules (or point
// the replace lines at a checkout of the lab).
module example.com/myboard

go 1.26.0

require (
	github.com/lavalab/lavalab/sdk v0.0.0
	github.com/lavalab/lavalab/sdk/sdktest v0.0.0
)

require (
	github.com/lavalab/lavalab v0.0.0 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/lavalab/lavalab => ../..
	github.com/lavalab/lavalab/sdk => ..
	github.com/lavalab/lavalab/sdk/sdktest => ../sdktest
)
