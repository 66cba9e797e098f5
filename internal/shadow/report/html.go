package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
)

// HTML renders report.html: the headline, the plots (embedded, so the
// file travels alone) and the tables.
func HTML(d *Document, pngs map[string][]byte) ([]byte, error) {
	img := func(name string) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(pngs[name]))
	}
	data := map[string]any{
		"D":        d,
		"Verdicts": verdicts(d),
		"Plots": []map[string]any{
			{"Title": "Latency ECDF", "Src": img(LatencyPlot)},
			{"Title": "Agreement over time", "Src": img(AgreementPlot)},
			{"Title": "Output differences", "Src": img(DiffPlot)},
		},
		"Latency": []map[string]any{
			{"Name": d.Primary + " (primary)", "Q": d.Latency.Primary},
			{"Name": d.Shadow + " (shadow)", "Q": d.Latency.Shadow},
			{"Name": "shadow - primary", "Q": d.Latency.Difference},
		},
	}
	var b bytes.Buffer
	if err := page.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", HTMLFile, err)
	}
	return b.Bytes(), nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":                pct,
	"ci":                 ciPct,
	"ms":                 ciMs,
	"num":                num,
	"stamp":              stamp,
	"stampPtr":           stampPtr,
	"deref":              func(f *float64) float64 { return *f },
	"deref_bool":         func(b *bool) bool { return b != nil && *b },
	"gate":               gateVerdict,
	"mirrorTest":         mirrorTest,
	"missingPrimaryLogs": missingPrimaryLogs,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Shadow report: {{.D.Primary}} vs {{.D.Shadow}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}.plots img{max-width:32%;margin-right:1%}
.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}small{color:#666}
</style></head><body>
<h1>Shadow report: {{.D.Primary}} (primary) vs {{.D.Shadow}} (shadow)</h1>
<p><small>Source: {{.D.Source}}. Requests from {{stampPtr .D.From}} to {{stampPtr .D.To}}. Generated {{stamp .D.Generated}}.</small></p>
<ul>{{range .Verdicts}}<li>{{.}}</li>{{end}}</ul>
{{with .D.Agreement}}{{if .MinAgreement}}<p class="{{if deref_bool .GatePassed}}pass{{else}}fail{{end}}">Gate --min-agreement {{deref .MinAgreement}}:
{{gate .}}.</p>{{end}}{{end}}
<div class="plots">{{range .Plots}}<img alt="{{.Title}}" title="{{.Title}}" src="{{.Src}}">{{end}}</div>

<h2>Requests</h2>
{{with .D.Requests}}<table>
<tr><td>user requests seen</td><td>{{.Seen}}</td></tr>
<tr><td>paired</td><td>{{.Paired}}</td></tr>
<tr><td>primary only (not mirrored)</td><td>{{.PrimaryOnly}}</td></tr>
<tr><td>shadow only (unmatched copies)</td><td>{{.ShadowOnly}}</td></tr>
<tr><td>primary: request without response / response without request</td><td>{{.PrimaryWithoutResponse}} / {{.PrimaryWithoutRequest}}</td></tr>
<tr><td>shadow: request without response / response without request</td><td>{{.ShadowWithoutResponse}} / {{.ShadowWithoutRequest}}</td></tr>
<tr><td>id reused (not compared)</td><td>{{.IDReused}}</td></tr>
</table>{{end}}

<h2>Mirrored share</h2>
{{with .D.Mirror}}<p>Observed {{pct .Observed.Estimate}} ({{.Copies}} copies of {{.Requests}} requests the primary logged), {{pct $.D.Confidence}} CI {{ci .Observed}}.
{{if .CopiesWithoutPrimary}}{{missingPrimaryLogs .}}{{end}}
{{if .Configured}}{{mirrorTest .}}{{end}}</p>
<p><small>{{.Test}}</small></p>{{end}}

<h2>Agreement</h2>
{{with .D.Agreement}}<p>{{.Agreeing}} of {{.Compared}} compared pairs agree under tolerance {{.Tolerance}}: {{pct .Rate.Estimate}}, Wilson CI {{ci .Rate}}.</p>
<p><small>{{.Test}}</small></p>{{end}}

<h2>Output differences</h2>
<table><tr><th>output</th><th>pairs</th><th>elements</th><th>max</th><th>mean</th></tr>
{{range .D.Outputs}}<tr><td>{{.Name}}</td><td>{{.Pairs}}</td><td>{{.Elements}}</td><td>{{printf "%.6g" .Max}}</td><td>{{printf "%.6g" .Mean}}</td></tr>{{end}}
</table>

<h2>Latency (ms)</h2>
<table><tr><th></th><th>n</th><th>p50</th><th>p95</th><th>p99</th></tr>
{{range .Latency}}<tr><td>{{.Name}}</td><td>{{.Q.N}}</td><td>{{ms .Q.P50}}</td><td>{{ms .Q.P95}}</td><td>{{ms .Q.P99}}</td></tr>{{end}}
</table><p><small>{{.D.Latency.Method}}</small></p>

<h2>Errors</h2>
{{with .D.Errors}}<table><tr><th></th><th>responses</th><th>errors</th><th>rate and CI</th></tr>
<tr><td>{{$.D.Primary}} (primary)</td><td>{{.Primary.Responses}}</td><td>{{.Primary.Errors}}</td><td>{{pct .Primary.Rate.Estimate}} {{ci .Primary.Rate}}</td></tr>
<tr><td>{{$.D.Shadow}} (shadow)</td><td>{{.Shadow.Responses}}</td><td>{{.Shadow.Errors}}</td><td>{{pct .Shadow.Rate.Estimate}} {{ci .Shadow.Rate}}</td></tr>
</table><p><small>{{.Test}}</small></p>{{end}}

<h2>Inputs</h2>
{{with .D.Inputs}}<p>{{len .Logs}} logs, {{.Lines.Lines}} lines, {{.Lines.Events}} events, {{.Lines.Other}} other JSON lines;
skipped {{.Lines.Malformed}} malformed, {{.Lines.Invalid}} invalid, {{.Lines.TooLong}} too long.</p>
<table><tr><th>log</th><th>events</th><th>other</th><th>malformed</th><th>invalid</th><th>too long</th><th>error</th></tr>
{{range .Logs}}<tr><td>{{.Name}}</td><td>{{.Counts.Events}}</td><td>{{.Counts.Other}}</td><td>{{.Counts.Malformed}}</td><td>{{.Counts.Invalid}}</td><td>{{.Counts.TooLong}}</td><td>{{.Error}}</td></tr>{{end}}
</table>{{end}}
<p>Data: <code>{{.D.Files.Pairs}}</code>, <code>{{.D.Files.Parquet}}</code>; numbers: <code>summary.json</code>.</p>
</body></html>
`))
