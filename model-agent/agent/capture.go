package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"net/http"
	"sync"
)

// capture watches a body stream go by: it hashes all of it and keeps the
// first limit bytes when asked to (limit 0 keeps nothing). Memory is
// bounded by limit whatever the body's size.
type capture struct {
	mu        sync.Mutex // the transport may still read a request body after the answer
	hash      hash.Hash
	n         int64
	limit     int
	kept      []byte
	truncated bool
}

func newCapture(limit int) *capture { return &capture{hash: sha256.New(), limit: limit} }

func (c *capture) add(p []byte) {
	c.mu.Lock()
	c.hash.Write(p)
	c.n += int64(len(p))
	if room := c.limit - len(c.kept); room > 0 {
		if len(p) > room {
			p, c.truncated = p[:room], true
		}
		c.kept = append(c.kept, p...)
	} else if c.limit > 0 && len(p) > 0 {
		c.truncated = true
	}
	c.mu.Unlock()
}

// result is the digest of everything seen, and what was kept.
func (c *capture) result() (digest string, kept []byte, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return hex.EncodeToString(c.hash.Sum(nil)), c.kept, c.truncated
}

// teeBody is a request body read by the transport on its way to the model.
type teeBody struct {
	io.ReadCloser
	c *capture
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 {
		t.c.add(p[:n])
	}
	return n, err
}

// exchange wraps the ResponseWriter of one request: the status written
// and the answer's bytes as they stream to the caller.
type exchange struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	out         *capture
	errMsg      string
}

func (x *exchange) WriteHeader(code int) {
	if !x.wroteHeader {
		x.status, x.wroteHeader = code, true
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(p []byte) (int, error) {
	if !x.wroteHeader {
		x.WriteHeader(http.StatusOK)
	}
	n, err := x.ResponseWriter.Write(p)
	if n > 0 {
		x.out.add(p[:n])
	}
	return n, err
}

// Unwrap lets http.ResponseController (the proxy's flushes) reach the
// underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// outputsDigest is model-echo's infer output digest: sha256 of the
// compact JSON "outputs" member alone, so two versions that compute the
// same outputs agree whatever their model_version and id say. ok is false
// when the answer is not such JSON.
func outputsDigest(body []byte) (string, bool) {
	var answer struct {
		Outputs json.RawMessage `json:"outputs"`
	}
	if json.Unmarshal(body, &answer) != nil || len(answer.Outputs) == 0 {
		return "", false
	}
	var compact bytes.Buffer
	if json.Compact(&compact, answer.Outputs) != nil {
		return "", false
	}
	sum := sha256.Sum256(compact.Bytes())
	return hex.EncodeToString(sum[:]), true
}
