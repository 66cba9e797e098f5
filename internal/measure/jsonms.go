package measure

import (
	"encoding/json"
	"time"
)

// Ms is d in milliseconds to the microsecond: how our JSON reports hold a
// duration (never Go's nanoseconds), in fields named ...Ms / ..._ms.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// MarshalJSON writes the waits in milliseconds.
func (w WaitResult) MarshalJSON() ([]byte, error) {
	type plain WaitResult
	return json.Marshal(struct {
		plain
		Ready       float64 `json:"ready_ms"`
		FirstAnswer float64 `json:"first_answer_ms"`
	}{plain(w), Ms(w.Ready), Ms(w.FirstAnswer)})
}
