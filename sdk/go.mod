module github.com/lavalab/lavalab/sdk

go 1.26
