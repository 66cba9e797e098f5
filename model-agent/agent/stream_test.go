package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func TestTheAnswerStreamsBeforeTheModelHasFinishedIt(t *testing.T) {
	more := make(chan struct{})
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n") // chunked: no Content-Length
		w.(http.Flusher).Flush()
		<-more
		io.WriteString(w, "second\n")
	})
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL)})
	resp, err := http.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	// This read would block forever if the agent waited for the whole
	// answer: the model sends the rest only after it.
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(more)
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestTheRequestBodyStreamsBeforeTheCallerHasFinishedIt(t *testing.T) {
	gotFirst := make(chan struct{})
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, 6)
		io.ReadFull(r.Body, first)
		close(gotFirst)
		rest, _ := io.ReadAll(r.Body)
		io.WriteString(w, string(first)+string(rest))
	})
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL)})
	pr, pw := io.Pipe()
	done := make(chan string)
	go func() {
		resp, err := http.Post(url+"/v2/models/m/infer", "application/octet-stream", pr) // chunked
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	io.WriteString(pw, "first ")
	<-gotFirst // would block forever if the agent read the whole body first
	io.WriteString(pw, "and the rest")
	pw.Close()
	if got := <-done; got != "first and the rest" {
		t.Errorf("echo %q", got)
	}
}

func TestAHugeBodyPassesWholeAndItsEventIsCutAndFlagged(t *testing.T) {
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, r.Body) // echo, streaming
	})
	a, url, events := startAgent(t, Config{Upstream: hostOf(model.URL), PayloadLog: true})
	// 4 MiB of JSON, sixteen times the payload log's cut.
	huge := []byte(`{"inputs":[{"name":"x","data":"` + strings.Repeat("a", 4<<20) + `"}]}`)
	resp, body := do(t, http.MethodPost, url+"/v2/models/m/infer", "", bytes.NewReader(huge), map[string]string{modelapi.HeaderRequestID: "huge"})
	if resp.StatusCode != 200 || !bytes.Equal(body, huge) {
		t.Fatalf("answer %d of %d bytes, want the %d bytes sent back", resp.StatusCode, len(body), len(huge))
	}
	a.FlushLogs()
	evs := events.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	for _, ev := range evs {
		if !ev.Truncated || len(ev.DataBase64) != modelapi.PayloadMaxBodyBytes || ev.Data != nil ||
			!bytes.Equal(ev.DataBase64, huge[:modelapi.PayloadMaxBodyBytes]) {
			t.Errorf("%s event: truncated %v, %d base64 bytes, want the first %d bytes and the flag",
				ev.Type, ev.Truncated, len(ev.DataBase64), modelapi.PayloadMaxBodyBytes)
		}
	}
	// The record's digests are of every byte, not of the cut.
	sum := sha256.Sum256(huge)
	recs := a.Records()
	if len(recs) != 1 || recs[0].InputDigest != hexOf(sum[:]) {
		t.Errorf("input digest %+v, want sha256 of all %d bytes", recs, len(huge))
	}
}

func TestASmallBodyIsLoggedWholeAsJSONWithoutTheFlag(t *testing.T) {
	model := startModel(t, iris(t, nil))
	a, url, events := startAgent(t, Config{Upstream: hostOf(model.URL), PayloadLog: true})
	do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader("{\n  \"inputs\": []\n}\n"), nil)
	a.FlushLogs()
	evs := events.events(t)
	if len(evs) != 2 || evs[0].Truncated || string(evs[0].Data) != `{"inputs":[]}` || evs[1].Truncated || evs[1].Status != 200 {
		t.Errorf("events %+v, want whole JSON bodies (compacted onto one line), no truncated flag", evs)
	}
}
