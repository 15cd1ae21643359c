package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// deviceTypeImport is `device-type import PATH...` (issue 16): each LAVA
// device-type template becomes (or replaces the template of) the device
// type of its name, bound to the driver of its base. Jobs scheduled
// afterwards use it. One verdict line per template on stdout.
func deviceTypeImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("device-type import", flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	paths, err := parseFlags(fs, args, 1, 1<<20)
	if err != nil {
		return err
	}
	verdicts, err := lavatemplate.ImportPaths(paths)
	if err != nil {
		return err
	}
	st, err := openAdminStore(ctx, *dataDir, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var imported, refused int
	for _, v := range verdicts {
		if v.Type != nil {
			if err := storeImported(ctx, st, v.Type); err != nil {
				v.Type, v.Err = nil, err
			}
		}
		switch {
		case v.Type != nil:
			imported++
		case v.Err != nil:
			refused++
		}
		fmt.Fprintln(stdout, v)
	}
	fmt.Fprintf(stderr, "%d templates: %d imported, %d refused, %d bases\n", len(verdicts), imported, refused, len(verdicts)-imported-refused)
	return nil
}

// storeImported creates the device type, or replaces the template and
// driver of an existing one (its health check and setting overrides stay).
func storeImported(ctx context.Context, st store.Store, t *lavatemplate.Type) error {
	tmpl, err := t.Marshal()
	if err != nil {
		return err
	}
	err = st.CreateDeviceType(ctx, model.DeviceType{Name: t.Name, Display: true, Driver: t.Driver, Template: tmpl,
		Description: "imported from LAVA's " + t.Name + ".jinja2 (" + t.Base + ")"})
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	_, err = st.UpdateDeviceType(ctx, t.Name, func(dt *model.DeviceType) error {
		dt.Driver, dt.Template = t.Driver, tmpl
		return nil
	})
	return err
}
