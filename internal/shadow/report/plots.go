package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

var (
	primaryColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	shadowColor  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	gateColor    = color.RGBA{R: 80, G: 80, B: 80, A: 255}
)

const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
	plotDPI    = 100
)

// writePlots draws the three plots to PNG files and report.png, and
// returns the PNGs by file name for the HTML report.
func writePlots(dir string, d *Document, s *stats.Series) (map[string][]byte, error) {
	plots := []struct {
		file string
		make func(*Document, *stats.Series) (*plot.Plot, error)
	}{
		{LatencyPlot, latencyECDF},
		{AgreementPlot, agreementOverTime},
		{DiffPlot, diffHistogram},
	}
	out := map[string][]byte{}
	row := make([]*plot.Plot, len(plots))
	for i, pl := range plots {
		p, err := pl.make(d, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pl.file, err)
		}
		row[i] = p
		png, err := render(plotWidth, plotHeight, func(dc draw.Canvas) { p.Draw(dc) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pl.file, err)
		}
		out[pl.file] = png
	}
	// report.png: the three side by side, the picture of the report.
	png, err := render(3*plotWidth, plotHeight, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
			PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4} // the right legend is not cut at the edge
		canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
		for i, p := range row {
			p.Draw(canvases[0][i])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PictureFile, err)
	}
	out[PictureFile] = png
	for name, b := range out {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func render(w, h vg.Length, paint func(draw.Canvas)) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	paint(draw.New(img))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// latencyECDF draws both sides' latency distributions; a log axis when
// they span more than a decade.
func latencyECDF(d *Document, s *stats.Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency ECDF (server side)"
	p.X.Label.Text = "latency (ms)"
	p.Y.Label.Text = "share of requests at or below"
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, side := range []struct {
		name  string
		vals  []float64
		color color.Color
	}{
		{d.Primary + " (primary)", s.PrimaryLatency, primaryColor},
		{d.Shadow + " (shadow)", s.ShadowLatency, shadowColor},
	} {
		if len(side.vals) == 0 {
			continue
		}
		xys := ecdf(side.vals, 2000)
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = side.color
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s, n=%d", side.name, len(side.vals)), l)
		lo, hi = math.Min(lo, xys[0].X), math.Max(hi, xys[len(xys)-1].X)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(20)
	if lo > 0 && hi/lo > 10 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if math.IsInf(lo, 1) {
		p.Title.Text += ": no answers"
	}
	return p, nil
}

// ecdf is the sorted sample as a step curve, thinned to at most n points.
func ecdf(sorted []float64, n int) plotter.XYs {
	step := max(1, len(sorted)/n)
	xys := make(plotter.XYs, 0, len(sorted)/step+2)
	for i := 0; i < len(sorted); i += step {
		// Latencies of 0 µs sit at 1 µs so a log axis can show them.
		xys = append(xys, plotter.XY{X: math.Max(sorted[i], 0.001), Y: float64(i+1) / float64(len(sorted))})
	}
	xys = append(xys, plotter.XY{X: math.Max(sorted[len(sorted)-1], 0.001), Y: 1})
	return xys
}

// agreementOverTime draws each time bin's agreement with its interval,
// and the gate when there is one.
func agreementOverTime(d *Document, s *stats.Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Agreement over time (tolerance %g)", s.Tolerance)
	p.Y.Label.Text = fmt.Sprintf("agreement, %g%% CI", 100*d.Confidence)
	p.Y.Min, p.Y.Max = 0, 1.02
	p.Add(plotter.NewGrid())
	bins := s.AgreementOverTime
	var pts errPoints
	if len(bins) > 0 {
		span := bins[len(bins)-1].Start.Sub(bins[0].Start).Seconds()
		unit, scale := "s", 1.0
		switch {
		case span > 3*3600:
			unit, scale = "h", 3600
		case span > 180:
			unit, scale = "min", 60
		}
		p.X.Label.Text = fmt.Sprintf("time since %s (%s)", bins[0].Start.Format("2006-01-02 15:04:05Z07:00"), unit)
		for _, b := range bins {
			if b.Compared == 0 {
				continue
			}
			x := b.Start.Sub(bins[0].Start).Seconds() / scale
			pts = append(pts, errPoint{x: x, y: b.Rate.Estimate, lo: b.Rate.Low, hi: b.Rate.High})
		}
	} else {
		p.X.Label.Text = "time"
		p.Title.Text += ": no compared pairs"
	}
	if len(pts) > 0 {
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color, sc.Color = primaryColor, primaryColor
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, err
		}
		eb.Color = primaryColor
		p.Add(l, sc, eb)
		p.Legend.Add("agreement per bin", l, sc)
	}
	if g := d.Agreement.MinAgreement; g != nil {
		line := plotter.NewFunction(func(float64) float64 { return *g })
		line.Color = gateColor
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("gate %g", *g), line)
	}
	p.Legend.Top, p.Legend.Left = false, true
	return p, nil
}

type errPoint struct{ x, y, lo, hi float64 }

type errPoints []errPoint

func (e errPoints) Len() int                        { return len(e) }
func (e errPoints) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errPoints) YError(i int) (float64, float64) { return e[i].y - e[i].lo, e[i].hi - e[i].y }

// diffHistogram draws the largest absolute output difference of each
// comparable pair, with the tolerance marked.
func diffHistogram(d *Document, s *stats.Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Output differences |shadow - primary|"
	p.X.Label.Text = "largest absolute difference in the pair"
	p.Y.Label.Text = "pairs"
	p.Add(plotter.NewGrid())
	if len(s.AbsDiffs) == 0 {
		p.Title.Text += ": no comparable pairs"
		return p, nil
	}
	vals := plotter.Values(s.AbsDiffs)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		// One value: give the single bar a visible width.
		w := math.Max(math.Abs(hi)*0.05, 1e-9)
		vals = append(plotter.Values{lo - w, hi + w}, vals...)
	}
	h, err := plotter.NewHist(vals, 40)
	if err != nil {
		return nil, err
	}
	if hi == lo {
		// Take the two widening values back out of the counts.
		h.Bins[0].Weight--
		h.Bins[len(h.Bins)-1].Weight--
	}
	h.FillColor = shadowColor
	h.LineStyle.Width = 0
	p.Add(h)
	p.Legend.Add(fmt.Sprintf("pairs (n=%d)", len(s.AbsDiffs)), h)
	tol := s.Tolerance
	if tol >= p.X.Min && tol <= p.X.Max {
		top := 0.0
		for _, b := range h.Bins {
			top = math.Max(top, b.Weight)
		}
		l, err := plotter.NewLine(plotter.XYs{{X: tol, Y: 0}, {X: tol, Y: top}})
		if err != nil {
			return nil, err
		}
		l.Color = gateColor
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("tolerance %g", tol), l)
	}
	p.Legend.Top = true
	return p, nil
}
