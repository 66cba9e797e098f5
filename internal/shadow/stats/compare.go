// Package stats compares a primary's and a shadow's answers and sums up
// many of them with confidence intervals: the mirrored share against the
// configured one, the agreement rate (Wilson), output differences,
// latency quantiles (order-statistic intervals) and error rates.
package stats

import (
	"bytes"
	"errors"
	"math"

	"github.com/modelrollouts/modelrollouts/internal/shadow/jsonscan"
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

// decodeOutputs reads the outputs of an Open Inference Protocol answer:
// each one's name and its data, flattened (nested data is row-major).
func decodeOutputs(body []byte) ([]output, error) {
	var outs []output
	var err error
	found := false
	walkErr := jsonscan.Members(body, func(k, v []byte) bool {
		if !jsonscan.Key(k, "outputs") {
			return true
		}
		found = true
		walk := jsonscan.Elements(v, func(o []byte) bool {
			var out output
			inner := jsonscan.Members(o, func(k, v []byte) bool {
				switch {
				case jsonscan.Key(k, "name"):
					out.name, err = jsonscan.String(v)
				case jsonscan.Key(k, "data"):
					out.values, err = jsonscan.Floats(v, nil)
				}
				return err == nil
			})
			if err == nil {
				err = inner
			}
			outs = append(outs, out)
			return err == nil
		})
		if err == nil {
			err = walk
		}
		return false
	})
	switch {
	case err != nil:
		return nil, err
	case walkErr != nil:
		return nil, walkErr
	case !found:
		return nil, errNoOutputs
	}
	return outs, nil
}

var errNoOutputs = errors.New("no outputs in the answer")
