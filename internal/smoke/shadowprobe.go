package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// shadowProbe is what the shadow check sends on the user host, and what
// it may expect of the answers and of the servers' counts.
type shadowProbe struct {
	method, path string
	body         func(i int) []byte // nil: no body
	// echo is model-echo's own inference request, whose answer names the
	// version in its body as well as in the header.
	echo bool
	// route is the label the servers (model-echo, or model-agent in front
	// of any model) count the request under; recorded says whether they
	// also keep its debug record, which joins copies to requests.
	route    string
	recorded bool
}

// chooseShadowProbe picks the shadow check's request: the one given in
// p, else model-echo's inference request (the model's name read from
// its server metadata, so it is not typed twice) when model-echo is the
// primary, else the readiness path of the primary's own model behind
// model-agent, the one request such a model is known to answer. problem
// says why no probe could be chosen.
func chooseShadowProbe(ctx context.Context, c *measure.Client, o *stacks.Outputs, p Params) (probe shadowProbe, problem string) {
	prim := o.Versions[o.Primary]
	switch {
	case p.ShadowRequest.Path != "":
		probe = shadowProbe{method: http.MethodGet, path: p.ShadowRequest.Path}
		if body := p.ShadowRequest.Body; len(body) > 0 {
			probe.method = http.MethodPost
			probe.body = func(int) []byte { return body }
		}
	case !prim.Agent:
		meta := c.Do(ctx, measure.Get(prim.Host, modelapi.PathServerMetadata))
		var sm modelapi.ServerMetadata
		if !meta.OK() || json.Unmarshal(meta.Body, &sm) != nil || sm.Name == "" {
			return probe, fmt.Sprintf("GET %s on %s: %s", modelapi.PathServerMetadata, prim.Host, meta.Problem())
		}
		inputs := InferInputs(32)
		probe = shadowProbe{method: http.MethodPost, path: modelapi.InferPath(sm.Name), echo: true,
			body: func(i int) []byte { return inputs[i%len(inputs)] }}
	default:
		probe = shadowProbe{method: http.MethodGet, path: prim.ProbePath()}
	}
	probe.route = modelapi.RouteLabel(probe.path)
	probe.recorded = !modelapi.IsInfraRoute(probe.route)
	return probe, ""
}

// request is user request i, with its request id.
func (s shadowProbe) request(host string, i int, id string) measure.Request {
	req := measure.Request{Method: s.method, Host: host, Path: s.path, RequestID: id}
	if s.body != nil {
		req.Body = s.body(i)
	}
	return req
}

func (s shadowProbe) String() string {
	switch {
	case s.echo:
		return fmt.Sprintf("model-echo's inference request (POST %s)", s.path)
	case s.body != nil:
		return fmt.Sprintf("POST %s with the given body", s.path)
	}
	return fmt.Sprintf("GET %s", s.path)
}
