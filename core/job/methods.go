package job

import (
	"fmt"
	"slices"
	"strings"
)

// Driver is what the active driver of a device type says about itself in its
// describe answer, as far as CheckMethods needs it. The callers fill it from
// the driver's sdk.Description (this package does not import the SDK).
type Driver struct {
	Name, Version string
	// DeployMethods are the deploy `to` values the driver plans for.
	DeployMethods []string
	// BootMethods are the boot `method` values the driver plans for.
	BootMethods []string
}

// DriverLookup returns the active driver serving a device type; false when
// no active driver serves it.
type DriverLookup func(deviceType string) (Driver, bool)

// CheckMethods refuses a deploy `to` or a boot `method` that the active
// driver of the action's device type does not declare: one error per such
// action and device type, at the method's path and line, naming the device
// type, the driver and its version, the method and what the driver has.
// A multinode action is checked against the device type of each of its
// roles. Test and command actions have no method to check.
//
// What is not checked: a device type no active driver serves (lookup says
// false; the job waits for one, as the scheduler does), and a kind of method
// the driver declares none of (an older driver whose describe answer lists
// no deploy methods, or no boot methods, is trusted for that kind).
func CheckMethods(def *Definition, lookup DriverLookup) []Issue {
	if def == nil || lookup == nil {
		return nil
	}
	type found struct {
		d  Driver
		ok bool
	}
	drivers := map[string]found{}
	driverOf := func(dt string) (Driver, bool) {
		f, seen := drivers[dt]
		if !seen {
			f.d, f.ok = lookup(dt)
			drivers[dt] = f
		}
		return f.d, f.ok
	}
	roleType := make(map[string]string, len(def.Roles))
	for _, r := range def.Roles {
		roleType[r.Name] = r.DeviceType
	}
	var out []Issue
	for _, a := range def.Actions {
		var key, kind string
		switch a.Kind {
		case "deploy":
			key, kind = "to", "deploy"
		case "boot":
			key, kind = "method", "boot"
		default:
			continue
		}
		if a.Method == "" {
			continue
		}
		var types []string
		if def.IsMultinode() {
			for _, r := range a.Roles {
				if dt := roleType[r]; dt != "" && !slices.Contains(types, dt) {
					types = append(types, dt)
				}
			}
		} else if def.DeviceType != "" {
			types = []string{def.DeviceType}
		}
		for _, dt := range types {
			d, ok := driverOf(dt)
			if !ok {
				continue
			}
			have := d.DeployMethods
			if kind == "boot" {
				have = d.BootMethods
			}
			if len(have) == 0 || slices.Contains(have, a.Method) {
				continue
			}
			out = append(out, Issue{
				Path:   fmt.Sprintf("actions[%d].%s.%s", a.Index, a.Kind, key),
				Line:   a.MethodLine,
				Column: a.MethodColumn,
				Message: fmt.Sprintf("device type %s (driver %s %s) has no %s method %q; it has: %s",
					dt, d.Name, d.Version, kind, a.Method, strings.Join(have, ", ")),
			})
		}
	}
	return out
}
