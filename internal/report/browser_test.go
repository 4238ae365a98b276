package report

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"importer/internal/golden"
)

// chromiumBinary is Debian's chromium package (.ci/run installs it).
const chromiumBinary = "/usr/bin/chromium"

// screenshotPath is the picture of a realistic report shown in the README;
// `go test ./internal/report -update` renders it again.
const screenshotPath = "../../docs/report-screenshot.png"

// TestBrowserRender opens a realistic report in headless Chromium, from a
// file:// URL with networking features off, and checks the screenshot is
// a real page: the right size, mostly not blank, many colours, and the
// charts' blue, green and vermillion lines drawn.
func TestBrowserRender(t *testing.T) {
	if _, err := os.Stat(chromiumBinary); err != nil {
		t.Skipf("%s not installed (apt-get install -y chromium; .ci/run does): %v", chromiumBinary, err)
	}
	dir := t.TempDir()
	rec, f := realisticRun()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, rec, f), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "out.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumBinary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "--window-size=1280,1600", "file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir) // keep Chromium's caches in the test's directory
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytesReader(data))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	checkScreenshot(t, img, len(data))
	if *golden.Update {
		if err := os.WriteFile(screenshotPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", screenshotPath)
	}
}

func checkScreenshot(t *testing.T, img image.Image, size int) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 1600 {
		t.Errorf("screenshot is %dx%d, want 1280x1600", b.Dx(), b.Dy())
	}
	if size < 30_000 {
		t.Errorf("screenshot is %d bytes: too small for a page with four charts", size)
	}
	colours := map[uint32]bool{}
	var inked, blue, green, vermillion int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			colours[r<<16|g<<8|bl] = true
			if r < 235 || g < 235 || bl < 235 {
				inked++
			}
			switch {
			case near(r, g, bl, 0x00, 0x72, 0xb2):
				blue++
			case near(r, g, bl, 0x00, 0x9e, 0x73):
				green++
			case near(r, g, bl, 0xd5, 0x5e, 0x00):
				vermillion++
			}
		}
	}
	total := b.Dx() * b.Dy()
	if inked < total/20 {
		t.Errorf("only %d of %d pixels are not near white: a blank page?", inked, total)
	}
	if len(colours) < 200 {
		t.Errorf("only %d distinct colours: text and charts not rendered?", len(colours))
	}
	for name, n := range map[string]int{"blue (rows/s)": blue, "green (p50)": green, "vermillion (p99, 429s)": vermillion} {
		if n < 300 {
			t.Errorf("%d %s pixels: that series is not drawn", n, name)
		}
	}
}

// near reports whether a pixel is within a small distance of a colour
// (antialiasing blends the edges of a line).
func near(r, g, b uint32, wr, wg, wb int) bool {
	d := func(a uint32, w int) int { return max(int(a)-w, w-int(a)) }
	return d(r, wr) < 24 && d(g, wg) < 24 && d(b, wb) < 24
}
