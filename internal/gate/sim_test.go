package gate

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// simVersion draws outcomes of a version with log-normal latency.
type simVersion struct {
	median    time.Duration
	sigma     float64
	errorRate float64
}

type simSampler struct {
	rng        *rand.Rand
	cand, base simVersion
}

func (s *simSampler) draw(v simVersion, n int) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		lat := float64(v.median) * math.Exp(v.sigma*s.rng.NormFloat64())
		out[i] = Outcome{OK: s.rng.Float64() >= v.errorRate, Latency: time.Duration(lat)}
	}
	return out
}

func (s *simSampler) Sample(_ context.Context, n int) ([]Outcome, []Outcome, error) {
	return s.draw(s.cand, n), s.draw(s.base, n), nil
}

func newSim(seed uint64, cand, base simVersion) *simSampler {
	return &simSampler{rng: rand.New(rand.NewPCG(seed, seed*7+1)), cand: cand, base: base}
}
