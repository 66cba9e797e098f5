package agent

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawModel is a model server written byte by byte, to misbehave in ways
// net/http's server never does. serve gets each accepted connection and
// its request count so far (over all connections).
type rawModel struct {
	ln       net.Listener
	accepted atomic.Int64
}

func startRawModel(t *testing.T, serve func(c net.Conn, br *bufio.Reader, accepted int64)) *rawModel {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &rawModel{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := m.accepted.Add(1)
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c), n)
			}()
		}
	}()
	return m
}

func (m *rawModel) addr() string { return m.ln.Addr().String() }

// readRequest reads one request and its body; false when the agent
// closed the connection.
func readRequest(br *bufio.Reader) (*http.Request, bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, false
	}
	io.Copy(io.Discard, req.Body)
	return req, true
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"

func TestTheAgentKeepsOneConnectionToTheModelForRequestsInTurn(t *testing.T) {
	model := startRawModel(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		for {
			if _, ok := readRequest(br); !ok {
				return
			}
			io.WriteString(c, okAnswer)
		}
	})
	_, url, _ := startAgent(t, Config{Upstream: model.addr(), Version: "v1", ReadinessPath: "/healthz"})
	for i := range 20 {
		resp, body := do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader(`{"inputs":[]}`), nil)
		if resp.StatusCode != http.StatusOK || string(body) != `{"ok":true}` {
			t.Fatalf("request %d: %s %q", i, resp.Status, body)
		}
	}
	if n := model.accepted.Load(); n != 1 {
		t.Errorf("the model accepted %d connections for 20 requests in turn, want 1 kept alive", n)
	}
}

// uvicorn closes a kept connection after 5 idle seconds, and a model
// restarting closes them all; the next request must not be sent on one.
func TestAConnectionTheModelClosedWhileIdleIsNotUsedAgain(t *testing.T) {
	model := startRawModel(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		if _, ok := readRequest(br); ok {
			io.WriteString(c, okAnswer) // keep-alive by HTTP/1.1's default, then closed
		}
	})
	_, url, _ := startAgent(t, Config{Upstream: model.addr(), Version: "v1", ReadinessPath: "/healthz"})
	for i := range 5 {
		// A POST: had it gone out on the closed connection, it could not
		// be sent again (the model might have acted on it).
		resp, body := do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader(`{"inputs":[]}`), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d after the model closed the kept connection: %s %s", i, resp.Status, body)
		}
		time.Sleep(20 * time.Millisecond) // the model's close arrives
	}
}

// A kept connection that dies with the request on it: sent again only
// when net/http's Transport would (a method that may be repeated), never
// a POST the model may have acted on.
func TestARequestLostOnAKeptConnectionIsSentAgainOnlyIfItMayBeRepeated(t *testing.T) {
	model := startRawModel(t, func(c net.Conn, br *bufio.Reader, accepted int64) {
		for served := 0; ; served++ {
			if _, ok := readRequest(br); !ok {
				return
			}
			if accepted == 1 && served == 1 {
				return // the second request on the first connection: no answer, closed
			}
			io.WriteString(c, okAnswer)
		}
	})
	for _, tc := range []struct {
		method string
		want   int
	}{{http.MethodGet, http.StatusOK}, {http.MethodPost, http.StatusBadGateway}} {
		t.Run(tc.method, func(t *testing.T) {
			model.accepted.Store(0)
			_, url, _ := startAgent(t, Config{Upstream: model.addr(), Version: "v1", ReadinessPath: "/healthz"})
			if resp, _ := do(t, tc.method, url+"/v2/models/iris/infer", "", strings.NewReader(`{}`), nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("first request: %s", resp.Status)
			}
			resp, body := do(t, tc.method, url+"/v2/models/iris/infer", "", strings.NewReader(`{}`), nil)
			if resp.StatusCode != tc.want {
				t.Errorf("%s lost on a kept connection: %s %s, want %d", tc.method, resp.Status, body, tc.want)
			}
		})
	}
}

func TestInterimAnswersArePassedOverForTheFinalOne(t *testing.T) {
	model := startRawModel(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		for {
			if _, ok := readRequest(br); !ok {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"+okAnswer)
		}
	})
	_, url, _ := startAgent(t, Config{Upstream: model.addr(), Version: "v1", ReadinessPath: "/healthz"})
	resp, body := do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader(`{}`), nil)
	if resp.StatusCode != http.StatusOK || string(body) != `{"ok":true}` {
		t.Errorf("after interim answers: %s %q, want 200 {\"ok\":true}", resp.Status, body)
	}
}

// A protocol upgrade (a websocket, say) is net/http's Transport's to
// carry: the caller and the model then talk through the agent.
func TestAnUpgradeReachesTheModelAndCarriesBytesBothWays(t *testing.T) {
	model := startRawModel(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		req, ok := readRequest(br)
		if !ok || req.Header.Get("Upgrade") != "echo" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		io.Copy(c, br) // echo until the caller closes
	})
	_, url, _ := startAgent(t, Config{Upstream: model.addr(), Version: "v1", ReadinessPath: "/healthz"})
	c, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: model\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s, want 101", resp.Status)
	}
	io.WriteString(c, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Errorf("through the upgraded connection: %q, %v; want the model's echo", line, err)
	}
}

// A connection no request has used for idleDirectTimeout is closed, as
// net/http's Transport closes its own after 90 s.
func TestAConnectionUnusedForNinetySecondsIsClosed(t *testing.T) {
	tr := &directTransport{}
	old, oldPeer := net.Pipe()
	fresh, freshPeer := net.Pipe()
	defer oldPeer.Close()
	defer freshPeer.Close()
	tr.put(&directConn{conn: old})
	tr.idle[0].idleSince = time.Now().Add(-idleDirectTimeout - time.Second)
	tr.put(&directConn{conn: fresh})
	if len(tr.idle) != 1 || tr.idle[0].conn != fresh {
		t.Fatalf("kept %d connections, want only the fresh one", len(tr.idle))
	}
	if _, err := old.Write([]byte("x")); err == nil {
		t.Error("the connection idle past the timeout is still open")
	}
}
