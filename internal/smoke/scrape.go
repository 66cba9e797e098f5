package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// CounterSum scrapes host's /metrics and sums model-echo's request counter
// over status codes for one version and route. It reads one pod: with
// several replicas behind the host the sum covers only the one answering.
func CounterSum(ctx context.Context, c *Client, host, version, route string) (float64, error) {
	a := c.Do(ctx, http.MethodGet, host, modelapi.PathMetrics, nil, "")
	if !a.OK() {
		return 0, fmt.Errorf("scrape %s/metrics: %s", host, a.Problem())
	}
	sum, found := sumCounter(a.Body, modelapi.MetricRequests, map[string]string{"version": version, "route": route})
	if !found {
		return 0, fmt.Errorf("scrape %s/metrics: no %s series for version %q route %q", host, modelapi.MetricRequests, version, route)
	}
	return sum, nil
}

// sumCounter adds up the samples of metric in Prometheus text format whose
// labels include want. A tiny parser is enough for model-echo's output and
// keeps the smoke test free of exposition-format library churn.
func sumCounter(text []byte, metric string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		labels := parseLabels(line[len(metric)+1 : end])
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// parseLabels reads `a="x",b="y"` with Prometheus escapes in the values.
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return out
		}
		key := strings.TrimSpace(strings.TrimLeft(s[:eq], ","))
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		out[key] = val.String()
		if i+1 >= len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// Records reads host's /debug/requests after sequence number since.
func Records(ctx context.Context, c *Client, host string, since uint64) ([]modelapi.RequestRecord, error) {
	a := c.Do(ctx, http.MethodGet, host, modelapi.PathDebugRequests+"?"+modelapi.QuerySince+"="+strconv.FormatUint(since, 10), nil, "")
	if !a.OK() {
		return nil, fmt.Errorf("read %s/debug/requests: %s", host, a.Problem())
	}
	var recs []modelapi.RequestRecord
	if err := json.Unmarshal(a.Body, &recs); err != nil {
		return nil, fmt.Errorf("decode %s/debug/requests: %w", host, err)
	}
	return recs, nil
}

// LastSeq is the newest record's sequence number on host (0 when empty),
// the mark after which this run's records start.
func LastSeq(ctx context.Context, c *Client, host string) (uint64, error) {
	a := c.Do(ctx, http.MethodGet, host, modelapi.PathDebugRequests+"?"+modelapi.QueryLimit+"=1", nil, "")
	if !a.OK() {
		return 0, fmt.Errorf("read %s/debug/requests: %s", host, a.Problem())
	}
	var recs []modelapi.RequestRecord
	if err := json.Unmarshal(a.Body, &recs); err != nil {
		return 0, fmt.Errorf("decode %s/debug/requests: %w", host, err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	return recs[len(recs)-1].Seq, nil
}
