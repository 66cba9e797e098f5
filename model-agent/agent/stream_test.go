package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
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

// A small body of announced length is read whole before it is forwarded
// (one write to the model instead of headers, then body): the model gets
// it whole with its length, and the debug record its digest.
func TestASmallBodyOfKnownLengthReachesTheModelWholeWithItsLength(t *testing.T) {
	body := `{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP64","data":[[5.1,3.5,1.4,0.2]]}]}`
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(body)) || string(got) != body || len(r.TransferEncoding) != 0 {
			http.Error(w, fmt.Sprintf("length %d, encoding %v, body %q", r.ContentLength, r.TransferEncoding, got), http.StatusBadRequest)
			return
		}
		io.WriteString(w, `{"outputs":[]}`)
	})
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL)})
	resp, b := do(t, http.MethodPost, url+"/v2/models/m/infer", "", strings.NewReader(body), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

// A caller that announces a small body and breaks off sending it gets a
// 400 that says how much arrived; the model is not called.
func TestASmallBodyThatBreaksOffIsRefusedSayingHowMuchArrived(t *testing.T) {
	called := make(chan struct{}, 1)
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) { called <- struct{}{} })
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL)})
	conn, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v2/models/m/infer HTTP/1.1\r\nHost: model\r\nContent-Length: 100\r\n\r\n{\"inputs\":")
	conn.(*net.TCPConn).CloseWrite() // the rest never comes
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "after 10 of the 100 bytes") {
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
	select {
	case <-called:
		t.Error("the model was called with a broken body")
	default:
	}
}
