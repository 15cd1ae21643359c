package plugins

import (
	"errors"
	"fmt"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/sdk"
)

// DescribeRequest is the describe request every host sends: the oldest ABI
// version it speaks, since describe has the same shape in every version.
func DescribeRequest() sdk.Request {
	return sdk.Request{ABIVersion: sdk.MinABIVersion, Op: sdk.OpDescribe}
}

// PlanRequest is the plan request for a driver that described itself as d,
// in the ABI version the host and the driver negotiated.
func PlanRequest(d sdk.Description, req sdk.PlanRequest) sdk.Request {
	return sdk.Request{ABIVersion: drivers.ABIOf(d), Op: sdk.OpPlan, Plan: &req}
}

// CheckDescription checks what every host checks on a describe answer: an
// ABI version both speak, a name, a version and at least one device type.
func CheckDescription(d sdk.Description) (fault string, err error) {
	if _, err := sdk.NegotiateABI(sdk.HostABIVersions(), d); err != nil {
		return drivers.FaultABI, err
	}
	switch {
	case d.Name == "":
		return drivers.FaultInvalidDesc, errors.New("describe gave no name")
	case d.Version == "":
		return drivers.FaultInvalidDesc, errors.New("describe gave no version")
	case len(d.DeviceTypes) == 0:
		return drivers.FaultInvalidDesc, errors.New("describe lists no device type")
	}
	for _, dt := range d.DeviceTypes {
		if dt == "" {
			return drivers.FaultInvalidDesc, errors.New("describe lists an empty device type")
		}
	}
	return "", nil
}

// DecodeResponse decodes and checks one answer of a driver to req. It is
// shared by the hosts so that both judge answers alike. A plan answer must
// be in the request's ABI version; a describe answer names the driver's
// newest version (CheckDescription negotiates).
func DecodeResponse(out []byte, req sdk.Request) (sdk.Response, string, error) {
	op := req.Op
	var resp sdk.Response
	if len(out) == 0 {
		return resp, drivers.FaultMalformed, errors.New("empty answer on stdout")
	}
	if err := decodeStrict(out, &resp); err != nil {
		return resp, drivers.FaultMalformed, fmt.Errorf("answer is not one JSON response: %w (answer starts %q)", err, head(out, 80))
	}
	if op != sdk.OpDescribe && resp.ABIVersion != req.ABIVersion {
		return resp, drivers.FaultABI, fmt.Errorf("answer has ABI version %d, the host asked for %d", resp.ABIVersion, req.ABIVersion)
	}
	if resp.Error != nil {
		return resp, drivers.FaultReported, resp.Error
	}
	switch op {
	case sdk.OpDescribe:
		if resp.Describe == nil {
			return resp, drivers.FaultMalformed, errors.New("describe answer without its describe field")
		}
		if f, err := CheckDescription(*resp.Describe); err != nil {
			return resp, f, err
		}
	case sdk.OpPlan:
		if resp.Plan == nil {
			return resp, drivers.FaultMalformed, errors.New("plan answer without its plan field")
		}
		if err := resp.Plan.Validate(); err != nil {
			return resp, drivers.FaultInvalidPlan, err
		}
	}
	return resp, "", nil
}

func head(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
