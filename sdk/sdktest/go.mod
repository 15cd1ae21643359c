module github.com/lavalab/lavalab/sdk/sdktest

go 1.26.0

replace (
	github.com/lavalab/lavalab => ../..
	github.com/lavalab/lavalab/sdk => ..
)

require (
	github.com/lavalab/lavalab v0.0.0
	github.com/lavalab/lavalab/sdk v0.0.0
)

require (
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
