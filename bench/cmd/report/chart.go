package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// bar is one target in one chart panel.
type bar struct {
	target string
	s      stat
	na     bool
}

type panel struct {
	title, unit string
	bars        []bar
}

var (
	white     = color.RGBA{255, 255, 255, 255}
	ink       = color.RGBA{30, 30, 30, 255}
	grey      = color.RGBA{130, 130, 130, 255}
	rule      = color.RGBA{220, 220, 220, 255}
	barColors = map[string]color.RGBA{
		"direct":       {150, 150, 150, 255},
		"nginx":        {0, 150, 57, 255},
		"haproxy":      {31, 119, 180, 255},
		"caddy":        {23, 190, 207, 255},
		"fulcrum-http": {255, 127, 14, 255},
		"fulcrum-tcp":  {214, 39, 40, 255},
	}
)

// panels lays out the medians the Markdown tables show: one panel per
// load scenario, then proxy CPU per request at 64 keep-alive connections
// and per full TLS handshake, and memory per idle connection.
func (rep *report) panels() []panel {
	var ps []panel
	for _, sc := range rep.present() {
		unit := sc.unit
		if unit == "handshakes/s" {
			unit = "hs/s" // the value labels have room for about a dozen characters
		}
		p := panel{title: sc.short + " (" + sc.unit + ", higher is better)", unit: unit}
		for _, t := range rep.rowTargets(sc) {
			_, na := rep.naReason(sc.id, t)
			p.bars = append(p.bars, bar{target: t, s: rep.wrk[sc.id][t].mainStat(), na: na})
		}
		ps = append(ps, p)
	}
	for _, id := range []string{"ka64", "fullhs"} {
		sc := scenarioByID(id)
		if rep.wrk[id] == nil {
			continue
		}
		p := panel{title: "proxy CPU per " + sc.per + ", " + sc.short + " (us, lower is better)", unit: "us"}
		for _, t := range rep.rowTargets(sc) {
			if t == "direct" {
				continue
			}
			_, na := rep.naReason(id, t)
			var s stat
			if c := rep.wrk[id][t]; c != nil {
				s = c.cpu
			}
			p.bars = append(p.bars, bar{target: t, s: s, na: na})
		}
		ps = append(ps, p)
	}
	if len(rep.idle) > 0 {
		p := panel{title: "proxy memory per idle connection (KiB, lower is better)", unit: "KiB"}
		for _, t := range rep.targets {
			_, na := rep.naReason(idleScenario, t)
			if c := rep.idle[t]; t != "direct" && (c != nil || na) {
				var s stat
				if c != nil {
					s = c.perConn
				}
				p.bars = append(p.bars, bar{target: t, s: s, na: na})
			}
		}
		ps = append(ps, p)
	}
	return ps
}

const (
	chartW   = 1000
	margin   = 12
	headerH  = 34
	titleH   = 24
	rowH     = 22
	labelW   = 96
	valueW   = 96
	panelPad = 10
)

func (rep *report) writePNG(name, title string) error {
	ps := rep.panels()
	cols := 2
	panelW := (chartW - (cols+1)*margin) / cols
	rowsOfPanels := (len(ps) + cols - 1) / cols
	maxBars := 1
	for _, p := range ps {
		maxBars = max(maxBars, len(p.bars))
	}
	panelH := titleH + maxBars*rowH + panelPad
	h := headerH + rowsOfPanels*(panelH+margin) + margin
	img := image.NewRGBA(image.Rect(0, 0, chartW, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	drawText(img, margin, 22, title, ink)
	for i, p := range ps {
		x := margin + (i%cols)*(panelW+margin)
		y := headerH + (i/cols)*(panelH+margin)
		drawPanel(img, image.Rect(x, y, x+panelW, y+panelH), p)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	outline(img, r, rule)
	drawText(img, r.Min.X+8, r.Min.Y+17, p.title, ink)
	x0 := r.Min.X + labelW + 8
	w := r.Dx() - labelW - valueW - 16
	top := 0.0
	for _, b := range p.bars {
		if b.s.n > 0 {
			top = max(top, b.s.hi)
		}
	}
	scale := func(v float64) int {
		if top <= 0 {
			return 0
		}
		return int(v / top * float64(w))
	}
	for i, b := range p.bars {
		cy := r.Min.Y + titleH + i*rowH + rowH/2
		label := display(b.target)
		drawText(img, x0-8-textWidth(label), cy+5, label, ink)
		switch {
		case b.na:
			drawText(img, x0+2, cy+5, "n/a", grey)
			continue
		case b.s.n == 0:
			drawText(img, x0+2, cy+5, "failed", grey)
			continue
		}
		c, ok := barColors[b.target]
		if !ok {
			c = color.RGBA{100, 100, 100, 255}
		}
		end := x0 + max(scale(b.s.med), 1)
		fill(img, image.Rect(x0, cy-7, end, cy+7), c)
		right := end
		if b.s.n > 1 && b.s.hi > b.s.lo {
			lo, hi := x0+scale(b.s.lo), x0+scale(b.s.hi)
			fill(img, image.Rect(lo, cy, hi+1, cy+1), ink)
			fill(img, image.Rect(lo, cy-4, lo+1, cy+5), ink)
			fill(img, image.Rect(hi, cy-4, hi+1, cy+5), ink)
			right = max(right, hi)
		}
		drawText(img, right+6, cy+5, fmtNum(b.s.med)+" "+p.unit, ink)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func outline(img *image.RGBA, r image.Rectangle, c color.Color) {
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), c)
	fill(img, image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), c)
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), c)
	fill(img, image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), c)
}

// drawText writes s with its baseline at y.
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Ceil()
}
