package gate

import (
	"encoding/json"
	"fmt"
	"time"
)

// MarshalJSON writes maxP99 as a duration string ("500ms"), never Go's
// nanoseconds.
func (s Settings) MarshalJSON() ([]byte, error) {
	type plain Settings
	return json.Marshal(struct {
		plain
		MaxP99 string `json:"maxP99"`
	}{plain(s), s.MaxP99.String()})
}

// UnmarshalJSON reads what MarshalJSON writes, and the nanoseconds of
// reports written before.
func (s *Settings) UnmarshalJSON(data []byte) error {
	type plain Settings
	var v struct {
		*plain
		MaxP99 json.RawMessage `json:"maxP99"`
	}
	v.plain = (*plain)(s)
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if len(v.MaxP99) == 0 || string(v.MaxP99) == "null" {
		return nil
	}
	var text string
	if err := json.Unmarshal(v.MaxP99, &text); err == nil {
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("settings.maxP99 %q: %w", text, err)
		}
		s.MaxP99 = d
		return nil
	}
	var ns int64
	if err := json.Unmarshal(v.MaxP99, &ns); err != nil {
		return fmt.Errorf("settings.maxP99 %s: want a duration such as \"500ms\"", v.MaxP99)
	}
	s.MaxP99 = time.Duration(ns)
	return nil
}
