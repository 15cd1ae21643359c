package workerproto

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 document of /worker/v1, served at
// /worker/v1/openapi.json (without authentication).
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
