package smoke

import (
	"encoding/json"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// MarshalJSON writes the report with its duration in milliseconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		Elapsed float64 `json:"elapsed_ms"`
	}{plain(r), measure.Ms(r.Elapsed)})
}
