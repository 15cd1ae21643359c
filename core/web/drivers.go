package web

import "github.com/lavalab/lavalab/core/lab"

// The driver registry as the lab sees it (core/lab): the pages show its
// versions and refusals.
type (
	DriverInfo    = lab.DriverInfo
	DriverRefusal = lab.DriverRefusal
	Drivers       = lab.Drivers
)
