package agent

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/recordring"
)

// handleDebugRequests serves the ring as model-echo does: smoke joins a
// primary's and a shadow's records by request id.
func (a *Agent) handleDebugRequests(x *exchange, r *http.Request) {
	f, err := recordring.ParseFilter(r.URL.Query())
	if err != nil {
		writeJSON(x, http.StatusBadRequest, modelapi.ErrorResponse{Error: err.Error()})
		return
	}
	writeJSON(x, http.StatusOK, a.ring.Snapshot(f))
}

// writeJSON answers the agent's own routes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
