package workerserver

import (
	"net/http"

	"github.com/lavalab/lavalab/core/workerproto"
)

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(workerproto.OpenAPI)
}
