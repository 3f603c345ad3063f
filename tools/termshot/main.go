// Command termshot renders terminal captures with colours (tmux
// capture-pane -e) to PNG, in a monospace TrueType font from a Debian
// package (fonts-dejavu-core). scripts/screenshots uses it for
// docs/images; it is a module of its own so that the product's go.mod does
// not carry an image library.
//
//	termshot -font /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf -o docs/images a.ans b.ans
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

var (
	background = color.RGBA{0x1e, 0x1e, 0x2e, 0xff}
	foreground = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// cell is one character on the screen with its colours.
type cell struct {
	r      rune
	fg, bg color.RGBA
	bold   bool
}

func main() {
	fontPath := flag.String("font", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "a monospace TrueType font")
	boldPath := flag.String("bold", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", "its bold face")
	out := flag.String("o", ".", "folder for the PNGs")
	cols := flag.Int("cols", 100, "terminal columns")
	rows := flag.Int("rows", 30, "terminal rows")
	size := flag.Float64("size", 14, "font size in points at 72 dpi")
	flag.Parse()
	regular, err := loadFace(*fontPath, *size)
	if err != nil {
		fail(err)
	}
	bold, err := loadFace(*boldPath, *size)
	if err != nil {
		bold = regular
	}
	for _, in := range flag.Args() {
		data, err := os.ReadFile(in)
		if err != nil {
			fail(err)
		}
		img := render(parse(string(data), *cols, *rows), regular, bold, *cols, *rows)
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in)) + ".png"
		f, err := os.Create(filepath.Join(*out, name))
		if err != nil {
			fail(err)
		}
		if err := png.Encode(f, img); err != nil {
			fail(err)
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "termshot:", err)
	os.Exit(1)
}

func loadFace(path string, size float64) (font.Face, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: install fonts-dejavu-core", err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// parse reads the capture: text with SGR escapes (colours, bold, reset).
func parse(s string, cols, rows int) [][]cell {
	grid := make([][]cell, rows)
	for i := range grid {
		grid[i] = make([]cell, cols)
		for j := range grid[i] {
			grid[i][j] = cell{r: ' ', fg: foreground, bg: background}
		}
	}
	fg, bg, bold := foreground, background, false
	row, col := 0, 0
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j < len(rs) && rs[j] == 'm' {
				fg, bg, bold = sgr(string(rs[i+2:j]), fg, bg, bold)
			}
			i = j
		case r == '\n':
			row, col = row+1, 0
		case r == '\r':
			col = 0
		default:
			if row < rows && col < cols {
				grid[row][col] = cell{r: r, fg: fg, bg: bg, bold: bold}
			}
			col++
		}
	}
	return grid
}

// sgr applies one Select Graphic Rendition sequence.
func sgr(params string, fg, bg color.RGBA, bold bool) (color.RGBA, color.RGBA, bool) {
	if params == "" {
		params = "0"
	}
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		n, _ := strconv.Atoi(ps[i])
		switch {
		case n == 0:
			fg, bg, bold = foreground, background, false
		case n == 1:
			bold = true
		case n == 22:
			bold = false
		case n == 39:
			fg = foreground
		case n == 49:
			bg = background
		case n >= 30 && n <= 37:
			fg = palette(n - 30)
		case n >= 90 && n <= 97:
			fg = palette(n - 90 + 8)
		case n >= 40 && n <= 47:
			bg = palette(n - 40)
		case n >= 100 && n <= 107:
			bg = palette(n - 100 + 8)
		case (n == 38 || n == 48) && i+1 < len(ps):
			var c color.RGBA
			switch ps[i+1] {
			case "5":
				if i+2 < len(ps) {
					k, _ := strconv.Atoi(ps[i+2])
					c = palette(k)
				}
				i += 2
			case "2":
				if i+4 < len(ps) {
					r, _ := strconv.Atoi(ps[i+2])
					g, _ := strconv.Atoi(ps[i+3])
					b, _ := strconv.Atoi(ps[i+4])
					c = color.RGBA{uint8(r), uint8(g), uint8(b), 0xff}
				}
				i += 4
			}
			if n == 38 {
				fg = c
			} else {
				bg = c
			}
		}
	}
	return fg, bg, bold
}

// palette is xterm's 256 colours.
func palette(n int) color.RGBA {
	base := []color.RGBA{
		{0x1e, 0x1e, 0x2e, 0xff}, {0xe0, 0x6c, 0x75, 0xff}, {0x98, 0xc3, 0x79, 0xff}, {0xe5, 0xc0, 0x7b, 0xff},
		{0x61, 0xaf, 0xef, 0xff}, {0xc6, 0x78, 0xdd, 0xff}, {0x56, 0xb6, 0xc2, 0xff}, {0xdc, 0xdf, 0xe4, 0xff},
		{0x5c, 0x63, 0x70, 0xff}, {0xff, 0x7b, 0x86, 0xff}, {0xb1, 0xe0, 0x8f, 0xff}, {0xff, 0xd6, 0x8a, 0xff},
		{0x7c, 0xc5, 0xff, 0xff}, {0xde, 0x93, 0xf5, 0xff}, {0x6f, 0xd3, 0xde, 0xff}, {0xff, 0xff, 0xff, 0xff},
	}
	switch {
	case n < 16:
		return base[n]
	case n < 232:
		n -= 16
		level := func(v int) uint8 {
			if v == 0 {
				return 0
			}
			return uint8(55 + v*40)
		}
		return color.RGBA{level(n / 36), level(n / 6 % 6), level(n % 6), 0xff}
	case n < 256:
		v := uint8(8 + (n-232)*10)
		return color.RGBA{v, v, v, 0xff}
	}
	return foreground
}

func render(grid [][]cell, regular, bold font.Face, cols, rows int) image.Image {
	m := regular.Metrics()
	adv, _ := regular.GlyphAdvance('M')
	cw := adv.Ceil()
	ch := (m.Ascent + m.Descent).Ceil() + 2
	pad := 12
	img := image.NewRGBA(image.Rect(0, 0, cols*cw+2*pad, rows*ch+2*pad))
	draw.Draw(img, img.Bounds(), &image.Uniform{background}, image.Point{}, draw.Src)
	for y, line := range grid {
		for x, c := range line {
			cellRect := image.Rect(pad+x*cw, pad+y*ch, pad+(x+1)*cw, pad+(y+1)*ch)
			if c.bg != background {
				draw.Draw(img, cellRect, &image.Uniform{c.bg}, image.Point{}, draw.Src)
			}
			if c.r == ' ' {
				continue
			}
			if boxDrawing(img, c, cellRect) {
				continue
			}
			face := regular
			if c.bold {
				face = bold
			}
			d := &font.Drawer{Dst: img, Src: &image.Uniform{c.fg}, Face: face,
				Dot: fixed.P(pad+x*cw, pad+y*ch+1+m.Ascent.Ceil())}
			d.DrawString(string(c.r))
		}
	}
	return img
}

// boxDrawing draws the lines and blocks the wizard uses edge to edge, as a
// terminal does, so that boxes and bars join up whatever the font's
// metrics.
func boxDrawing(img *image.RGBA, c cell, r image.Rectangle) bool {
	midX, midY := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
	fill := func(x0, y0, x1, y1 int) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c.fg}, image.Point{}, draw.Src)
	}
	h := func(x0, x1 int) { fill(x0, midY, x1, midY+1) }
	v := func(y0, y1 int) { fill(midX, y0, midX+1, y1) }
	switch c.r {
	case '─':
		h(r.Min.X, r.Max.X)
	case '│':
		v(r.Min.Y, r.Max.Y)
	case '┃':
		fill(midX-1, r.Min.Y, midX+1, r.Max.Y)
	case '╭', '┌':
		h(midX, r.Max.X)
		v(midY, r.Max.Y)
	case '╮', '┐':
		h(r.Min.X, midX+1)
		v(midY, r.Max.Y)
	case '╰', '└':
		h(midX, r.Max.X)
		v(r.Min.Y, midY+1)
	case '╯', '┘':
		h(r.Min.X, midX+1)
		v(r.Min.Y, midY+1)
	case '█':
		fill(r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
	case '░':
		for y := r.Min.Y; y < r.Max.Y; y += 2 {
			for x := r.Min.X + (y % 4 / 2); x < r.Max.X; x += 2 {
				img.Set(x, y, c.fg)
			}
		}
	default:
		return false
	}
	return true
}
