package lavatemplate

import "maps"

// ShippedDriver names the shipped driver that runs LAVA's device type
// name when the driver has another name ("juno" → "juno-r2"); "" when
// none does. LAVA's names that equal a shipped driver's (imx8mn-evk,
// soca9, qemu) need no entry: that driver declares them.
func ShippedDriver(name string) string {
	switch name {
	case "juno":
		return "juno-r2"
	}
	return ""
}

// DriverName is the driver a device type runs on: the driver it is bound
// to, else the shipped driver of its LAVA name, else the driver that
// declares the name itself.
func DriverName(typeName, bound string) string {
	if bound != "" {
		return bound
	}
	if d := ShippedDriver(typeName); d != "" {
		return d
	}
	return typeName
}

// MergeSettings layers a job's settings: the driver's defaults < the
// device type's settings < the device dictionary, the last two evaluated
// through the type's imported template (stored, as Type.Marshal wrote it)
// when it has one, as LAVA renders a dictionary that extends the type.
func MergeSettings(stored string, defaults, typeSettings, dict map[string]any) (map[string]any, error) {
	out := map[string]any{}
	maps.Copy(out, defaults)
	vars := map[string]any{}
	maps.Copy(vars, typeSettings)
	maps.Copy(vars, dict)
	if stored != "" {
		t, err := Unmarshal(stored)
		if err != nil {
			return nil, err
		}
		if vars, err = t.Evaluate(vars); err != nil {
			return nil, err
		}
	}
	maps.Copy(out, vars)
	return out, nil
}
