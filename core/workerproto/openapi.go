package workerproto

import _ "embed"

// OpenAPI is the OpenAPI 3 document of /worker/v1, served at
// /worker/v1/openapi.json (without authentication).
//
//go:embed openapi.json
var OpenAPI []byte
