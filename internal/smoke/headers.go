package smoke

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// HeaderRequests is how many requests each header route gets. Header
// routing is deterministic, so every answer must come from the version the
// header names: a handful proves the route, and a single miss fails.
const HeaderRequests = 20

// unknownHeaderValue names no version: the request must get the route
// users get (the split, or the primary).
const unknownHeaderValue = "smoke-no-such-version"

// hasHeaderRoutes reports whether the stack publishes routing headers.
func hasHeaderRoutes(o *stacks.Outputs) bool {
	for _, v := range o.Versions {
		if v.RouteHeader != nil {
			return true
		}
	}
	return false
}

// runHeaderChecks sends HeaderRequests requests on the user host per
// routing header and checks each lands, all of them, on its version; then
// as many with a value naming no version, which must get the users' route.
// On a shadow stack the shadow's records must show none of the header
// requests mirrored.
func runHeaderChecks(ctx context.Context, c *measure.Client, o *stacks.Outputs, p Params, r *Report) {
	var name string
	since := time.Now().Add(-time.Second)
	id := runID()
	ids := map[string]bool{}
	send := func(value string, i int) measure.Answer {
		rid := fmt.Sprintf("smoke-%s-header-%s-%d", id, value, i)
		ids[rid] = true
		return c.Do(ctx, measure.Request{Method: http.MethodGet, Host: o.Host, Path: o.UserProbePath(), RequestID: rid, Header: http.Header{name: {value}}})
	}
	for _, version := range sortedVersions(o) {
		h := o.Versions[version].RouteHeader
		if h == nil {
			continue
		}
		name = h.Name
		got := map[string]int{}
		var problem string
		for i := range HeaderRequests {
			a := send(h.Value, i)
			switch {
			case !a.OK():
				got["(failed)"]++
				if problem == "" {
					problem = a.Problem()
				}
			case a.Version == version && o.Versions[version].AnswersTarget() && string(a.Body) != o.Versions[version].Target:
				got[version+" (wrong body)"]++
			default:
				got[a.Version]++
			}
		}
		detail := fmt.Sprintf("%s: %s on %s: %s", h.Name, h.Value, o.Host, describeCounts(got))
		if problem != "" {
			detail += "; first failure: " + problem
		}
		r.check("header routes to "+version, got[version] == HeaderRequests, detail)
	}
	if name == "" {
		return
	}

	// A value that names no version falls back to the users' route.
	allowed := usersVersions(o)
	got := map[string]int{}
	for i := range HeaderRequests {
		a := send(unknownHeaderValue, i)
		switch {
		case !a.OK():
			got["(failed)"]++
		case !allowed[a.Version]:
			got[a.Version+" (not routed to users)"]++
		default:
			got[a.Version]++
		}
	}
	ok := true
	for v := range got {
		ok = ok && allowed[v]
	}
	r.check("unknown header value gets the users' route", ok,
		fmt.Sprintf("%s: %s on %s: %s; users' route: %s", name, unknownHeaderValue, o.Host, describeCounts(got), describeAllowed(allowed)))

	if o.Strategy == stacks.StrategyShadow {
		checkHeaderRequestsUnmirrored(ctx, c, o, p, r, since, ids)
	}
}

// checkHeaderRequestsUnmirrored reads the shadow's records after the
// mirror had time to deliver: no copy may carry the id of a request that
// named a version (the unknown-value requests may be mirrored: they took
// the users' route).
func checkHeaderRequestsUnmirrored(ctx context.Context, c *measure.Client, o *stacks.Outputs, p Params, r *Report, since time.Time, ids map[string]bool) {
	select {
	case <-ctx.Done():
	case <-time.After(min(p.Settle, 2*time.Second)):
	}
	// Each read reaches one pod through the ingress: with several, read a
	// few times per replica and keep the union, as compare does.
	reads := 1
	if n := replicas(o, o.Shadow); n > 1 {
		reads = 3 * n
	}
	var recs []modelapi.RequestRecord
	for range reads {
		got, err := measure.Records(ctx, c, o.Versions[o.Shadow].Host, since)
		if err != nil {
			r.check("header requests are not mirrored", false, err.Error())
			return
		}
		recs = append(recs, got...)
	}
	seen := map[string]bool{}
	mirrored, direct := 0, 0
	for _, rec := range recs {
		key := fmt.Sprint(rec.Mirrored, rec.RequestID)
		if !ids[rec.RequestID] || strings.Contains(rec.RequestID, unknownHeaderValue) || seen[key] {
			continue
		}
		seen[key] = true
		if rec.Mirrored {
			mirrored++
		} else {
			direct++
		}
	}
	r.check("header requests are not mirrored", mirrored == 0,
		fmt.Sprintf("the shadow recorded %d mirrored copies and %d direct requests of the header requests (want 0 copies, %d direct)",
			mirrored, direct, HeaderRequests))
}

// usersVersions are the versions the users' route may answer from: the
// primary (shadow) or every version with a share (canary).
func usersVersions(o *stacks.Outputs) map[string]bool {
	allowed := map[string]bool{}
	if o.Strategy == stacks.StrategyShadow {
		allowed[o.Primary] = true
		return allowed
	}
	pct, err := expectedShares(o)
	if err != nil {
		return allowed
	}
	for v, n := range pct {
		if n > 0 {
			allowed[v] = true
		}
	}
	return allowed
}

func describeCounts(got map[string]int) string {
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s×%d", k, got[k])
	}
	if s == "" {
		return "no answers"
	}
	return s
}

func describeAllowed(allowed map[string]bool) string {
	keys := make([]string, 0, len(allowed))
	for k := range allowed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return fmt.Sprint(keys)
}
