package lavarpc

import "context"

// methodTables are every method, by group.
var methodTables = [][]method{systemMethods, jobMethods, resultMethods, deviceMethods, deviceTypeMethods, workerMethods, tagMethods}

var systemMethods = []method{
	{name: "system.version", sig: []string{"string"}, min: 0, max: 0,
		help: "The LAVA version this server speaks (lavacli picks its arguments from it).",
		fn:   func(s *Server, _ context.Context, _ *Caller, _ args) (any, error) { return s.version, nil }},
	{name: "system.api_version", sig: []string{"int"}, min: 0, max: 0,
		help: "The XML-RPC API version: 2.",
		fn:   func(*Server, context.Context, *Caller, args) (any, error) { return 2, nil }},
	{name: "system.whoami", sig: []string{"string"}, min: 0, max: 0,
		help: "The caller's username, or None when anonymous.",
		fn:   (*Server).whoami},
	{name: "system.listMethods", sig: []string{"array"}, min: 0, max: 0,
		help: "Every method name.",
		fn:   func(s *Server, _ context.Context, _ *Caller, _ args) (any, error) { return nonNil(s.Methods()), nil }},
	{name: "system.methodHelp", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The help text of a method.",
		fn:   (*Server).methodHelp},
	{name: "system.methodSignature", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The signature of a method: [[return type, argument types...]], or 'undef'.",
		fn:   (*Server).methodSignature},
}

func (s *Server) whoami(_ context.Context, c *Caller, _ args) (any, error) {
	if c.User == nil {
		return nil, nil
	}
	return c.User.Username, nil
}

func (s *Server) methodHelp(_ context.Context, _ *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if m, ok := s.methods[n]; ok {
		return m.help, nil
	}
	return "", nil
}

func (s *Server) methodSignature(_ context.Context, _ *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if m, ok := s.methods[n]; ok {
		return []any{nonNil(m.sig)}, nil
	}
	return "undef", nil
}
