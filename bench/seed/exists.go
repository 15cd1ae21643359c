package main

import (
	"errors"

	"github.com/lavalab/lavalab/core/store"
)

func isExists(err error) bool { return errors.Is(err, store.ErrExists) }
