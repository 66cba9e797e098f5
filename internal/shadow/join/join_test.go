package join

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ev(id, version string, mirrored, response bool, at time.Duration) *events.Event {
	e := &events.Event{ID: id, Version: version, Mirrored: mirrored, Response: response, Time: t0.Add(at), Origin: version + "-pod"}
	if response {
		e.Status, e.Latency, e.Body = 200, time.Millisecond, []byte(`{"outputs":[]}`)
	} else {
		e.Body = []byte(`{"inputs":["` + id + `"]}`)
	}
	return e
}

func collectPairs(window time.Duration, evs ...*events.Event) ([]*Pair, Counts) {
	var out []*Pair
	j := New("v1", "v2", window, func(p *Pair) { out = append(out, p) })
	for _, e := range evs {
		j.Add(e)
	}
	j.Close()
	return out, j.Counts()
}

func TestJoinPairsByRequestID(t *testing.T) {
	pairs, c := collectPairs(time.Minute,
		ev("a", "v1", false, false, 0),
		ev("b", "v1", false, false, time.Millisecond),
		ev("a", "v2", true, false, 2*time.Millisecond), // the copy arrives later
		ev("a", "v1", false, true, 3*time.Millisecond),
		ev("b", "v1", false, true, 4*time.Millisecond),
		ev("a", "v2", true, true, 5*time.Millisecond),
		ev("c", "v2", true, true, 6*time.Millisecond),   // a copy whose primary and request were lost
		ev("x", "v2", false, false, 7*time.Millisecond), // straight to the shadow's host
		ev("y", "v1", true, false, 7*time.Millisecond),  // a copy at the primary
		ev("z", "v9", false, false, 7*time.Millisecond), // another version
		ev("a", "v1", false, true, 8*time.Millisecond),  // a's response again
	)
	if len(pairs) != 3 {
		t.Fatalf("%d pairs, want a, b, c: %+v", len(pairs), pairs)
	}
	a, b, cc := pairs[0], pairs[1], pairs[2]
	if a.ID != "a" || a.Match() != Paired || !a.Complete() || string(a.Input) != `{"inputs":["a"]}` || !a.Time.Equal(t0) ||
		a.Primary.Origin != "v1-pod" || a.Shadow.Origin != "v2-pod" {
		t.Errorf("pair a: %+v", a)
	}
	if b.ID != "b" || b.Match() != PrimaryOnly || !b.Primary.Answered || b.Shadow.Requested {
		t.Errorf("pair b: %+v", b)
	}
	if cc.ID != "c" || cc.Match() != ShadowOnly || cc.Shadow.Requested || !cc.Shadow.Answered || !cc.Time.Equal(t0.Add(5*time.Millisecond)) {
		t.Errorf("pair c (response only, arrived 1 ms before its response): %+v", cc)
	}
	want := Counts{Duplicates: 0, DirectToShadow: 1, MirroredAtPrimary: 1, OtherVersions: 1, Late: 1}
	if c != want {
		t.Errorf("counts %+v, want %+v (a's second response came after a was complete)", c, want)
	}
}

// A pair waits for its copy only a window: then it is given up as it is,
// and a copy arriving after that is counted late, not paired.
func TestJoinGivesUpAfterTheWindow(t *testing.T) {
	var out []*Pair
	j := New("v1", "v2", time.Second, func(p *Pair) { out = append(out, p) })
	j.Add(ev("a", "v1", false, false, 0))
	j.Add(ev("a", "v1", false, true, time.Millisecond))
	j.Add(ev("b", "v1", false, false, 500*time.Millisecond))
	if len(out) != 0 || j.Open() != 2 {
		t.Fatalf("emitted %d, open %d before the window passed", len(out), j.Open())
	}
	j.Add(ev("c", "v1", false, false, 1200*time.Millisecond)) // moves time past a's window
	if len(out) != 1 || out[0].ID != "a" || j.Open() != 2 {
		t.Fatalf("after the window: emitted %v, open %d", out, j.Open())
	}
	j.Add(ev("a", "v2", true, false, 1300*time.Millisecond))
	if j.Counts().Late != 1 {
		t.Fatalf("late copy not counted: %+v", j.Counts())
	}
	j.Close()
	if len(out) != 3 || out[1].ID != "b" || out[2].ID != "c" {
		t.Fatalf("Close gives up the rest oldest first: %v", out)
	}
}

// Memory: with a steady stream, open pairs stay bounded by the window,
// and so do the queues behind them (compacted past 4096 spent entries: at
// most about 5,100 and 6,100 here, however long the stream). 20 s of
// traffic is 20,000 pairs, well past what either queue would hold if it
// were not compacted.
func TestJoinHoldsOnlyAWindow(t *testing.T) {
	t.Parallel()
	j := New("v1", "v2", time.Second, func(*Pair) {})
	maxOpen, maxOrder, maxDone := 0, 0, 0
	for i := 0; i < 20000; i++ {
		at := time.Duration(i) * time.Millisecond // 1000 requests a second
		id := fmt.Sprint(i)
		j.Add(ev(id, "v1", false, false, at))
		j.Add(ev(id, "v1", false, true, at))
		maxOpen = max(maxOpen, j.Open())
		maxOrder, maxDone = max(maxOrder, len(j.order)), max(maxDone, len(j.doneQ))
	}
	if maxOpen > 1100 {
		t.Fatalf("%d pairs open at once with a 1 s window at 1000/s", maxOpen)
	}
	if maxOrder > 8192 || maxDone > 8192 {
		t.Fatalf("queues grew: order up to %d, done up to %d", maxOrder, maxDone)
	}
}

type sliceSource struct {
	evs []*events.Event
	err error
}

func (s *sliceSource) Next() (*events.Event, error) {
	if len(s.evs) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	e := s.evs[0]
	s.evs = s.evs[1:]
	return e, nil
}

// Merge interleaves sources by time, keeps each source's order, and a
// failing source does not stop the others.
func TestMergeIsOneTimeLine(t *testing.T) {
	var a, b []*events.Event
	for i := 0; i < 3000; i++ {
		e := ev(fmt.Sprint(i), "v1", false, false, time.Duration(i)*time.Millisecond)
		if i%3 == 0 {
			b = append(b, e)
		} else {
			a = append(a, e)
		}
	}
	boom := errors.New("stream reset")
	var got []*events.Event
	err := Merge(context.Background(), []NamedSource{
		{Name: "a", Source: &sliceSource{evs: a}},
		{Name: "b", Source: &sliceSource{evs: b, err: boom}},
		{Name: "empty", Source: &sliceSource{}},
	}, func(e *events.Event) { got = append(got, e) })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want b's", err)
	}
	if len(got) != 3000 {
		t.Fatalf("%d events, want 3000", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Fatalf("event %d at %v before %v", i, got[i].Time, got[i-1].Time)
		}
	}
}

// event is one event of request n (its body names it) at t0+at.
func event(id string, n int, version string, response bool, at, latency time.Duration) *events.Event {
	e := &events.Event{ID: id, Version: version, Mirrored: version == "v2", Response: response, Time: t0.Add(at), Origin: version + "-pod"}
	body := fmt.Sprintf(`{"request":%d}`, n)
	if response {
		e.Status, e.Latency, e.Body = 200, latency, []byte(body)
	} else {
		e.Body = []byte(body)
	}
	return e
}

// request is what a pair says of which user request each part came from.
func request(p *Pair) (input, primary, shadow string) {
	return string(p.Input), string(p.Primary.Output), string(p.Shadow.Output)
}

// The case: request 1 is not mirrored; request 2 reuses its id
// ten seconds later, within the join window, and is mirrored. Each
// request is its own row, both flagged, and neither holds the copy: which
// request it copies the logs cannot say (the mirror is asynchronous), so
// its two events are left out and counted, whichever of request 2's
// events the logs hold first. Before, request 1's answer and request 2's
// copy made one row, a disagreement that never happened.
func TestReusedIDNeverJoinsTwoRequests(t *testing.T) {
	const ms = time.Millisecond
	r1 := []*events.Event{event("x", 1, "v1", false, 0, 0), event("x", 1, "v1", true, ms, ms)}
	for _, c := range []struct {
		name    string
		arrived time.Duration // request 2 at the primary
		r2      []*events.Event
	}{
		{"primary logs request 2 first", 10 * time.Second, []*events.Event{
			event("x", 2, "v1", false, 10*time.Second, 0), event("x", 2, "v2", false, 10*time.Second+ms, 0),
			event("x", 2, "v1", true, 10*time.Second+2*ms, 2*ms), event("x", 2, "v2", true, 10*time.Second+3*ms, 2*ms)}},
		{"the copy logs request 2 first", 10*time.Second + ms, []*events.Event{
			event("x", 2, "v2", false, 10*time.Second, 0), event("x", 2, "v1", false, 10*time.Second+ms, 0),
			event("x", 2, "v2", true, 10*time.Second+2*ms, 2*ms), event("x", 2, "v1", true, 10*time.Second+3*ms, 2*ms)}},
		// Back to back, as a client reusing its id sends them: request 2's
		// copy, answered, is read before request 2's primary event (another
		// pod's log). Its body is request 2's, so it never completes
		// request 1's row (the cold run's make test-slow saw that row).
		{"request 2's copy is read whole before its primary request", 4 * ms, []*events.Event{
			event("x", 2, "v2", false, 2*ms, 0), event("x", 2, "v2", true, 3*ms, ms),
			event("x", 2, "v1", false, 4*ms, 0), event("x", 2, "v1", true, 5*ms, ms)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pairs, counts := collectPairs(time.Minute, append(append([]*events.Event{}, r1...), c.r2...)...)
			if len(pairs) != 2 {
				t.Fatalf("%d rows, want one per request: %+v", len(pairs), pairs)
			}
			one, two := pairs[0], pairs[1]
			if in, p, s := request(one); in != `{"request":1}` || p != `{"request":1}` || s != "" || one.Match() != PrimaryOnly || !one.IDReused {
				t.Errorf("request 1's row: input %s, primary %s, shadow %q, %s, reused %v; want request 1 alone, not mirrored, flagged", in, p, s, one.Match(), one.IDReused)
			}
			if in, p, s := request(two); in != `{"request":2}` || p != `{"request":2}` || s != "" || two.Match() != PrimaryOnly || !two.IDReused || !two.Time.Equal(t0.Add(c.arrived)) {
				t.Errorf("request 2's row: input %s, primary %s, shadow %q, %s, reused %v, at %v; want request 2 alone, flagged", in, p, s, two.Match(), two.IDReused, two.Time)
			}
			if want := (Counts{Unattributed: 2}); counts != want {
				t.Errorf("counts %+v, want %+v: the copy's request and response", counts, want)
			}
		})
	}
}

// Request 1 is mirrored and complete before request 2 reuses its id
// without a copy: request 2 is a row of its own (not a late event of
// request 1), flagged.
func TestRequestReusingAFinishedIDIsARowOfItsOwn(t *testing.T) {
	const ms = time.Millisecond
	pairs, counts := collectPairs(time.Minute,
		event("x", 1, "v1", false, 0, 0), event("x", 1, "v2", false, ms, 0),
		event("x", 1, "v1", true, 2*ms, 2*ms), event("x", 1, "v2", true, 3*ms, 2*ms),
		event("x", 2, "v1", false, time.Second, 0), event("x", 2, "v1", true, time.Second+ms, ms),
	)
	if len(pairs) != 2 || !pairs[0].Complete() || pairs[0].IDReused || pairs[1].Match() != PrimaryOnly || !pairs[1].IDReused {
		t.Fatalf("rows %+v; want request 1 paired, then request 2 primary only and flagged", pairs)
	}
	if in, p, _ := request(pairs[1]); in != `{"request":2}` || p != `{"request":2}` {
		t.Errorf("request 2's row holds input %s, answer %s", in, p)
	}
	if counts != (Counts{}) {
		t.Errorf("counts %+v, want none", counts)
	}
}

// Two requests with one id overlap: request 1's answer, logged after
// request 2 arrived, is request 1's (it arrived 1 s before it), so it is
// left out rather than given to request 2. A request logged twice at the
// same time is a duplicate line, not a reuse. Two copies with one id and
// no second primary request: the pair keeps its request, flagged, and
// neither copy.
func TestOverlappingReuseLeavesOutWhatFitsNeither(t *testing.T) {
	const ms = time.Millisecond
	pairs, counts := collectPairs(time.Minute,
		event("x", 1, "v1", false, 0, 0),
		event("x", 1, "v1", false, 0, 0), // the same line twice
		event("x", 2, "v1", false, time.Second, 0),
		event("x", 1, "v1", true, 1500*ms, 1500*ms),
		event("x", 2, "v1", true, time.Second+ms, ms),
	)
	if len(pairs) != 2 || !pairs[0].IDReused || pairs[0].Primary.Answered || !pairs[1].IDReused {
		t.Fatalf("rows %+v; want request 1 without its answer, request 2 with its own", pairs)
	}
	if _, p, _ := request(pairs[1]); p != `{"request":2}` {
		t.Errorf("request 2's answer is %s", p)
	}
	if want := (Counts{Duplicates: 1, Unattributed: 1}); counts != want {
		t.Errorf("counts %+v, want %+v", counts, want)
	}

	pairs, counts = collectPairs(time.Minute,
		event("y", 1, "v1", false, 0, 0), event("y", 1, "v2", false, ms, 0),
		event("y", 2, "v2", false, 2*ms, 0), event("y", 1, "v1", true, 3*ms, 3*ms),
		event("y", 1, "v2", true, 4*ms, 3*ms),
		event("z", 1, "v2", false, 5*ms, 0), event("z", 2, "v2", false, 6*ms, 0), // copies alone
	)
	if len(pairs) != 1 || !pairs[0].IDReused || pairs[0].Match() != PrimaryOnly || !pairs[0].Primary.Answered {
		t.Fatalf("rows %+v; want request y answered, flagged, without a copy; nothing of z", pairs)
	}
	if want := (Counts{Unattributed: 5}); counts != want {
		t.Errorf("counts %+v, want %+v (y's three copy events, z's two)", counts, want)
	}
}
