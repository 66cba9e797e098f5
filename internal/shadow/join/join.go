// Package join pairs a primary's and a shadow's payload events by request
// id: one Pair per user request, with the shadow's copy when Istio
// mirrored it. Events arrive in (roughly) time order from Merge; a pair
// still incomplete once the stream has moved Window past its first event
// is given up as it is, so memory holds only the events of one window,
// never every body.
package join

import (
	"bytes"
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
	// IDReused: another user request carried the same id while this one
	// was open, or had carried it shortly before (a client reusing
	// X-Request-Id). Which copy belongs to which of them the logs cannot
	// say (Istio mirrors asynchronously: request 1's copy can arrive
	// after request 2), so such a pair holds no copy: the shadow's events
	// of the id are left out (Counts.Unattributed) and no row holds two
	// requests. The primary's own events go to the request that arrived
	// nearest them.
	IDReused bool
	// earlier is when the previous request with this id reached the
	// primary (reused ids only): a response nearer to it than to this
	// pair is not this pair's.
	earlier time.Time
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
	// request logged twice at the same time, or a second answer.
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
	// Unattributed are events of a reused request id that cannot be
	// given to one request: every copy the shadow logged of it, and the
	// primary's events nearer the earlier request with that id than the
	// one waiting. Left out rather than joined to the wrong request.
	Unattributed int64 `json:"unattributedEvents"`
}

// Joiner pairs events. It is not safe for concurrent use.
type Joiner struct {
	primary, shadow string
	window          time.Duration
	emit            func(*Pair)

	open   map[string]*Pair
	order  []entry // open pairs by first event, oldest first (may hold done ones)
	head   int
	done   map[string]doneRecord // ids given up recently: late events, reused ids
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

// doneRecord remembers a finished pair: when (for forgetting it) and when
// each side's request arrived (unix ns, 0 for none), to tell a repeated
// log line from a new request reusing the id.
type doneRecord struct {
	at, primaryRequest, shadowRequest int64
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
		open: map[string]*Pair{}, done: map[string]doneRecord{},
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
	switch {
	case p == nil:
		if p = j.reopen(ev, primary); p == nil {
			return
		}
	case p.IDReused && (!primary || !p.fits(ev)):
		j.counts.Unattributed++
		return
	}
	if otherRequestsInput(p, ev, primary) {
		// The same id on a request with another body: not this pair's
		// request, but a later one reusing the id whose other side has
		// not been read yet (logs of several pods interleave).
		if !primary {
			p.IDReused = true
			j.counts.Unattributed++
			return
		}
		j.dropCopy(p)
	}
	side := &p.Shadow
	if primary {
		side = &p.Primary
	}
	if (ev.Response && side.Answered) || (!ev.Response && side.Requested) {
		if p = j.clash(p, side, ev, primary); p == nil {
			return
		}
		side = &p.Shadow
		if primary {
			side = &p.Primary
		}
	}
	if ev.Response {
		side.Answered, side.Status, side.Latency = true, ev.Status, ev.Latency
		side.Output, side.OutputJSON = ev.Body, ev.BodyJSON
		if !side.Requested {
			side.Time = arrival(ev)
		}
	} else {
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

// otherRequestsInput reports a request event whose body differs from the
// one the pair's other side logged: a mirrored copy carries the user
// request's body byte for byte, so a different body is another request.
func otherRequestsInput(p *Pair, ev *events.Event, primary bool) bool {
	if ev.Response || ev.Body == nil || p.Input == nil {
		return false
	}
	other, own := p.Shadow, p.Primary
	if !primary {
		other, own = p.Primary, p.Shadow
	}
	return other.Requested && !own.Requested && !bytes.Equal(ev.Body, p.Input)
}

// arrival is when the request an event belongs to reached its server.
func arrival(ev *events.Event) time.Time {
	if ev.Response {
		return ev.Time.Add(-ev.Latency)
	}
	return ev.Time
}

// fits reports the primary's event ev nearer to this pair's request than
// to the earlier one with the same id.
func (p *Pair) fits(ev *events.Event) bool {
	at := arrival(ev)
	return absDuration(at.Sub(p.Time)) <= absDuration(at.Sub(p.earlier))
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// start opens a pair for ev.
func (j *Joiner) start(ev *events.Event) *Pair {
	p := &Pair{ID: ev.ID, Time: arrival(ev)}
	j.open[ev.ID] = p
	j.order = append(j.order, entry{ev.ID, ev.Time, p})
	return p
}

// reopen opens a pair for an event whose id has no open pair. An id
// finished recently is either a late event of that request (counted) or,
// when a side that had logged its request logs another, a new request
// reusing the id: the primary's opens a flagged pair, a copy is left out;
// a repeated log line (the same request at the same time) is a duplicate.
func (j *Joiner) reopen(ev *events.Event, primary bool) *Pair {
	d, gone := j.done[ev.ID]
	if !gone {
		return j.start(ev)
	}
	seen := d.shadowRequest
	if primary {
		seen = d.primaryRequest
	}
	switch {
	case ev.Response || seen == 0:
		j.counts.Late++
		return nil
	case seen == ev.Time.UnixNano():
		j.counts.Duplicates++
		return nil
	case !primary:
		j.counts.Unattributed++
		return nil
	}
	p := j.start(ev)
	p.IDReused, p.earlier = true, time.Unix(0, seen)
	return p
}

// clash handles an event for a side that already has one of its kind. A
// request event at another time means the id is reused: the open pair is
// flagged and loses its copy; a second request at the primary gives that
// pair up and opens one of its own, a second copy is left out. A repeated
// request line, or a second answer, is a duplicate. It returns the pair
// ev goes to, or nil.
func (j *Joiner) clash(p *Pair, side *Side, ev *events.Event, primary bool) *Pair {
	if ev.Response || side.Time.Equal(ev.Time) {
		j.counts.Duplicates++
		return nil
	}
	j.dropCopy(p)
	if !primary {
		j.counts.Unattributed++
		return nil
	}
	earlier := side.Time
	j.finish(ev.ID, p)
	np := j.start(ev)
	np.IDReused, np.earlier = true, earlier
	return np
}

// dropCopy flags p as a reused id's and leaves out its copy's events.
func (j *Joiner) dropCopy(p *Pair) {
	p.IDReused = true
	for _, logged := range []bool{p.Shadow.Requested, p.Shadow.Answered} {
		if logged {
			j.counts.Unattributed++
		}
	}
	if !p.Primary.Requested { // the input was the copy's
		p.Input, p.InputJSON = nil, false
	}
	p.Shadow = Side{}
	p.Time = p.arrived()
}

// arrived is when the user request arrived: the primary's request, else
// the earliest arrival either side logged.
func (p *Pair) arrived() time.Time {
	if p.Primary.Requested {
		return p.Primary.Time
	}
	var at time.Time
	for _, s := range []*Side{&p.Primary, &p.Shadow} {
		if (s.Requested || s.Answered) && (at.IsZero() || s.Time.Before(at)) {
			at = s.Time
		}
	}
	return at
}

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
		if d, ok := j.done[e.id]; ok && d.at == e.at.UnixNano() {
			delete(j.done, e.id)
		}
	}
	if j.doneHd > 4096 && j.doneHd > len(j.doneQ)/2 {
		j.doneQ = append(j.doneQ[:0], j.doneQ[j.doneHd:]...)
		j.doneHd = 0
	}
}

// finish closes p, hands it on and remembers it a while (late events,
// reused ids). A pair left with no event (a reused id's copy that was all
// it had) is no request and is not handed on.
func (j *Joiner) finish(id string, p *Pair) {
	delete(j.open, id)
	d := doneRecord{at: j.now.UnixNano()}
	if p.Primary.Requested {
		d.primaryRequest = p.Primary.Time.UnixNano()
	}
	if p.Shadow.Requested {
		d.shadowRequest = p.Shadow.Time.UnixNano()
	}
	j.done[id] = d
	j.doneQ = append(j.doneQ, entry{id: id, at: j.now})
	if !p.empty() {
		j.emit(p)
	}
}

// empty reports a pair with no event left.
func (p *Pair) empty() bool {
	return !p.Primary.Requested && !p.Primary.Answered && !p.Shadow.Requested && !p.Shadow.Answered
}

// Close gives up every open pair, oldest first.
func (j *Joiner) Close() {
	for ; j.head < len(j.order); j.head++ {
		e := j.order[j.head]
		if p, ok := j.open[e.id]; ok && p == e.pair {
			delete(j.open, e.id)
			if !p.empty() {
				j.emit(p)
			}
		}
	}
	j.order, j.head = nil, 0
}
