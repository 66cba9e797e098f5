// Package join pairs a primary's and a shadow's payload events by request
// id: one Pair per user request, with the shadow's copy when Istio
// mirrored it. Events arrive in (roughly) time order from Merge; a pair
// still incomplete once the stream has moved Window past its first event
// is given up as it is, so memory holds only the events of one window,
// never every body.
package join

import (
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
)

// Side is what one version logged of a request.
type Side struct {
	Requested bool // its request event was seen
	Answered  bool // its response event was seen
	Time      time.Time
	Status    int
	Latency   time.Duration
	Output    []byte
	// OutputJSON: Output is JSON (else the bytes of a non-JSON answer).
	OutputJSON bool
	Origin     string // the log (pod) it came from
}

// Pair is one user request: the primary's answer and, when mirrored, the
// shadow's.
type Pair struct {
	ID string
	// Time is when the user request arrived (the primary's request event,
	// else the earliest event of the pair).
	Time      time.Time
	Input     []byte
	InputJSON bool
	Primary   Side
	Shadow    Side
}

// Match says which sides a pair has.
type Match string

const (
	// Paired: both versions logged the request.
	Paired Match = "paired"
	// PrimaryOnly: a user request that was not mirrored (or whose copy
	// was lost).
	PrimaryOnly Match = "primary_only"
	// ShadowOnly: a mirrored copy with no primary record: unmatched.
	ShadowOnly Match = "shadow_only"
)

// Match classifies the pair.
func (p *Pair) Match() Match {
	hasP := p.Primary.Requested || p.Primary.Answered
	hasS := p.Shadow.Requested || p.Shadow.Answered
	switch {
	case hasP && hasS:
		return Paired
	case hasS:
		return ShadowOnly
	}
	return PrimaryOnly
}

// Complete reports both sides fully logged.
func (p *Pair) Complete() bool {
	return p.Primary.Requested && p.Primary.Answered && p.Shadow.Requested && p.Shadow.Answered
}

// Counts are the events the joiner did not pair, by reason.
type Counts struct {
	// Duplicates are events for a side that already had that event: a
	// request id reused within the window.
	Duplicates int64 `json:"duplicateEvents"`
	// DirectToShadow are the shadow's events that are not mirrored copies
	// (requests sent to the shadow's own host).
	DirectToShadow int64 `json:"directToShadowEvents"`
	// MirroredAtPrimary are events the primary logged as mirrored copies:
	// a routing mistake worth knowing about.
	MirroredAtPrimary int64 `json:"mirroredAtPrimaryEvents"`
	// OtherVersions are events of versions that are neither side.
	OtherVersions int64 `json:"otherVersionEvents"`
	// Late are events that arrived after their pair was given up.
	Late int64 `json:"lateEvents"`
}

// Joiner pairs events. It is not safe for concurrent use.
type Joiner struct {
	primary, shadow string
	window          time.Duration
	emit            func(*Pair)

	open   map[string]*Pair
	order  []entry // open pairs by first event, oldest first (may hold done ones)
	head   int
	done   map[string]time.Time // ids given up recently, to count late events
	doneQ  []entry
	doneHd int
	now    time.Time
	counts Counts
}

type entry struct {
	id   string
	at   time.Time
	pair *Pair
}

// DefaultWindow is how long a pair waits for its missing events: far more
// than a mirrored copy takes, and than the log batching delays events.
const DefaultWindow = time.Minute

// New pairs the events of version primary with the mirrored copies at
// version shadow; emit gets each pair once, complete or given up.
func New(primary, shadow string, window time.Duration, emit func(*Pair)) *Joiner {
	if window <= 0 {
		window = DefaultWindow
	}
	return &Joiner{
		primary: primary, shadow: shadow, window: window, emit: emit,
		open: map[string]*Pair{}, done: map[string]time.Time{},
	}
}

// Counts are the events not paired so far.
func (j *Joiner) Counts() Counts { return j.counts }

// Open is how many pairs wait for events.
func (j *Joiner) Open() int { return len(j.open) }

// Add takes the next event.
func (j *Joiner) Add(ev *events.Event) {
	var primary bool
	switch {
	case ev.Version == j.primary && ev.Mirrored:
		j.counts.MirroredAtPrimary++
		return
	case ev.Version == j.primary:
		primary = true
	case ev.Version == j.shadow && !ev.Mirrored:
		j.counts.DirectToShadow++
		return
	case ev.Version == j.shadow:
	default:
		j.counts.OtherVersions++
		return
	}
	if ev.Time.After(j.now) {
		j.now = ev.Time
		j.expire()
	}
	p := j.open[ev.ID]
	if p == nil {
		if _, gone := j.done[ev.ID]; gone {
			j.counts.Late++
			return
		}
		p = &Pair{ID: ev.ID, Time: ev.Time}
		j.open[ev.ID] = p
		j.order = append(j.order, entry{ev.ID, ev.Time, p})
	}
	side := &p.Shadow
	if primary {
		side = &p.Primary
	}
	if ev.Response {
		if side.Answered {
			j.counts.Duplicates++
			return
		}
		side.Answered, side.Status, side.Latency = true, ev.Status, ev.Latency
		side.Output, side.OutputJSON = ev.Body, ev.BodyJSON
		if !side.Requested {
			side.Time = ev.Time.Add(-ev.Latency)
		}
	} else {
		if side.Requested {
			j.counts.Duplicates++
			return
		}
		side.Requested, side.Time = true, ev.Time
		// The user's input is the primary's; a copy's stands in for it.
		if primary || p.Input == nil {
			p.Input, p.InputJSON = ev.Body, ev.BodyJSON
		}
	}
	if side.Origin == "" {
		side.Origin = ev.Origin
	}
	if p.Primary.Requested {
		p.Time = p.Primary.Time
	} else if side.Time.Before(p.Time) {
		p.Time = side.Time
	}
	if p.Complete() {
		j.finish(ev.ID, p)
	}
}

// expire gives up the pairs whose first event is a window behind.
func (j *Joiner) expire() {
	limit := j.now.Add(-j.window)
	for j.head < len(j.order) && j.order[j.head].at.Before(limit) {
		e := j.order[j.head]
		j.order[j.head] = entry{}
		j.head++
		if p, ok := j.open[e.id]; ok && p == e.pair {
			j.finish(e.id, p)
		}
	}
	if j.head > 4096 && j.head > len(j.order)/2 {
		j.order = append(j.order[:0], j.order[j.head:]...)
		j.head = 0
	}
	// Forget given-up ids another window later.
	for j.doneHd < len(j.doneQ) && j.doneQ[j.doneHd].at.Before(limit.Add(-j.window)) {
		e := j.doneQ[j.doneHd]
		j.doneQ[j.doneHd] = entry{}
		j.doneHd++
		if at, ok := j.done[e.id]; ok && at.Equal(e.at) {
			delete(j.done, e.id)
		}
	}
	if j.doneHd > 4096 && j.doneHd > len(j.doneQ)/2 {
		j.doneQ = append(j.doneQ[:0], j.doneQ[j.doneHd:]...)
		j.doneHd = 0
	}
}

func (j *Joiner) finish(id string, p *Pair) {
	delete(j.open, id)
	j.done[id] = j.now
	j.doneQ = append(j.doneQ, entry{id: id, at: j.now})
	j.emit(p)
}

// Close gives up every open pair, oldest first.
func (j *Joiner) Close() {
	for ; j.head < len(j.order); j.head++ {
		e := j.order[j.head]
		if p, ok := j.open[e.id]; ok && p == e.pair {
			delete(j.open, e.id)
			j.emit(p)
		}
	}
	j.order, j.head = nil, 0
}
