package agent_test

// Only this test imports model-echo's implementation: it checks that the
// agent in front of model-echo is indistinguishable from model-echo alone
// to every client of the contract. The agent itself imports only modelapi.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-agent/agent"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/server"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// payloadEvents are the lines of buf that are CloudEvents.
func (s *syncBuffer) payloadEvents(t *testing.T) []modelapi.PayloadEvent {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []modelapi.PayloadEvent
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(`"specversion"`)) {
			continue // model-echo's request log shares the stream
		}
		var ev modelapi.PayloadEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		ev.Time, ev.LatencyMicros = time.Time{}, 0 // differ by run
		out = append(out, ev)
	}
	return out
}

func TestTheAgentInFrontOfModelEchoLooksLikeModelEchoToItsClients(t *testing.T) {
	echoCfg := server.Config{Target: "model v1", ModelName: "model", Version: "v1", Bias: 0.5, PayloadLog: true}
	direct := &syncBuffer{}
	alone := server.New(echoCfg, server.NewLogger(direct))
	aloneSrv := httptest.NewServer(alone)
	defer aloneSrv.Close()

	echoCfg.PayloadLog = false // behind the agent, the agent logs
	behind := httptest.NewServer(server.New(echoCfg, nil))
	defer behind.Close()
	fronted := &syncBuffer{}
	a, err := agent.NewWithPayloadWriter(agent.Config{Upstream: strings.TrimPrefix(behind.URL, "http://"), ModelName: "model", Version: "v1", PayloadLog: true}, nil, fronted)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	agentSrv := httptest.NewServer(a)
	defer agentSrv.Close()

	body := `{"inputs":[{"name":"input-0","shape":[4],"datatype":"FP64","data":[1,2,3,4]}]}`
	answers := map[string]*http.Response{}
	for name, base := range map[string]string{"model-echo": aloneSrv.URL, "agent": agentSrv.URL} {
		for _, host := range []string{"", "model.example.com-shadow"} {
			req, _ := http.NewRequest(http.MethodPost, base+modelapi.InferPath("model"), strings.NewReader(body))
			req.Header.Set(modelapi.HeaderRequestID, "same-id")
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers[name+host] = resp
		}
	}
	for _, h := range []string{modelapi.HeaderModelVersion, modelapi.HeaderRequestID} {
		if a, b := answers["agent"].Header.Values(h), answers["model-echo"].Header.Values(h); strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("%s: agent %q, model-echo %q", h, a, b)
		}
	}

	alone.FlushLogs()
	a.FlushLogs()
	want, got := direct.payloadEvents(t), fronted.payloadEvents(t)
	if len(want) != 4 || len(got) != 4 {
		t.Fatalf("events: model-echo %d, agent %d, want 4 each", len(want), len(got))
	}
	for i := range want {
		w, _ := json.Marshal(want[i])
		g, _ := json.Marshal(got[i])
		if !bytes.Equal(w, g) {
			t.Errorf("event %d:\nagent      %s\nmodel-echo %s", i, g, w)
		}
	}

	// The debug records join the same way: same route, digests, status.
	wrec, grec := alone.Records(), a.Records()
	if len(wrec) != 2 || len(grec) != 2 {
		t.Fatalf("records: model-echo %d, agent %d", len(wrec), len(grec))
	}
	for i := range wrec {
		w, g := wrec[i], grec[i]
		if w.Route != g.Route || w.InputDigest != g.InputDigest || w.OutputDigest != g.OutputDigest || w.Status != g.Status || w.Mirrored != g.Mirrored {
			t.Errorf("record %d: agent %+v, model-echo %+v", i, g, w)
		}
	}
}
