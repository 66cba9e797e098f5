// Package stats compares a primary's and a shadow's answers and sums up
// many of them with confidence intervals: the mirrored share against the
// configured one, the agreement rate (Wilson), output differences,
// latency quantiles (order-statistic intervals) and error rates.
package stats

import (
	"bytes"
	"encoding/json"
	"math"
)

// OutputDiff is how far one named output of the shadow is from the
// primary's: over its elements, the largest and the summed absolute
// difference.
type OutputDiff struct {
	Name     string
	Elements int
	Max      float64
	Sum      float64
}

// Comparison is the verdict on one pair of answers.
type Comparison struct {
	// Comparable: both answered 200 with outputs of the same names and
	// sizes, so element-wise differences exist.
	Comparable bool
	// MaxAbsDiff is the largest absolute difference over every element
	// of every output (Comparable pairs).
	MaxAbsDiff float64
	Outputs    []OutputDiff
	// Agree: the same status and, for 200, every element within the
	// tolerance. Two identical failures agree: the shadow did what the
	// primary did.
	Agree bool
}

// Compare compares two answers (response bodies and statuses) under an
// absolute tolerance.
func Compare(primaryStatus int, primary []byte, shadowStatus int, shadow []byte, tolerance float64) Comparison {
	if primaryStatus != shadowStatus {
		return Comparison{}
	}
	if primaryStatus != 200 {
		return Comparison{Agree: true}
	}
	po, perr := decodeOutputs(primary)
	so, serr := decodeOutputs(shadow)
	if perr != nil || serr != nil || len(po) != len(so) {
		// Not OIP answers: only byte-identical bodies agree.
		return Comparison{Agree: bytes.Equal(bytes.TrimSpace(primary), bytes.TrimSpace(shadow))}
	}
	c := Comparison{Comparable: true, Outputs: make([]OutputDiff, len(po))}
	for i := range po {
		if po[i].name != so[i].name || len(po[i].values) != len(so[i].values) {
			return Comparison{}
		}
		d := OutputDiff{Name: po[i].name, Elements: len(po[i].values)}
		for k, pv := range po[i].values {
			diff := math.Abs(so[i].values[k] - pv)
			d.Sum += diff
			d.Max = max(d.Max, diff)
		}
		c.Outputs[i] = d
		c.MaxAbsDiff = max(c.MaxAbsDiff, d.Max)
	}
	c.Agree = c.MaxAbsDiff <= tolerance
	return c
}

type output struct {
	name   string
	values []float64
}

// oipAnswer is the part of an Open Inference Protocol answer compared.
type oipAnswer struct {
	Outputs []struct {
		Name string          `json:"name"`
		Data json.RawMessage `json:"data"`
	} `json:"outputs"`
}

func decodeOutputs(body []byte) ([]output, error) {
	var a oipAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, err
	}
	out := make([]output, len(a.Outputs))
	for i, o := range a.Outputs {
		out[i].name = o.Name
		// Flat data is the common case; nested (row-major) is flattened.
		if err := json.Unmarshal(o.Data, &out[i].values); err != nil {
			var nested any
			if err := json.Unmarshal(o.Data, &nested); err != nil {
				return nil, err
			}
			vals, ok := flatten(nested, nil)
			if !ok {
				return nil, errNotNumeric
			}
			out[i].values = vals
		}
	}
	return out, nil
}

type notNumeric struct{}

func (notNumeric) Error() string { return "output data is not numeric" }

var errNotNumeric = notNumeric{}

func flatten(v any, into []float64) ([]float64, bool) {
	switch x := v.(type) {
	case float64:
		return append(into, x), true
	case bool:
		if x {
			return append(into, 1), true
		}
		return append(into, 0), true
	case []any:
		for _, item := range x {
			var ok bool
			if into, ok = flatten(item, into); !ok {
				return nil, false
			}
		}
		return into, true
	}
	return nil, false
}
