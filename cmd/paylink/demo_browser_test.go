package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath finds a Chromium or Chrome to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (looked for chromium, chromium-browser, google-chrome): install it (apt-get install chromium; .ci/run does) to run the playground's browser test")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and no background
// networking, closed when the test ends.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return bctx
}

// TestPlaygroundInBrowser drives the playground as a person would, in headless
// Chromium: it types a command, sees the link card, opens the checkout, pays, and sees
// "Paid" in the thread and on the card. With PLAYGROUND_SCREENSHOT=path it saves a
// screenshot of the channel there (the README's docs/playground.png).
func TestPlaygroundInBrowser(t *testing.T) {
	t.Parallel()
	chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	p, err := startPlayground(runCtx, "127.0.0.1:0", logs, "warn", specChecked(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		if err := p.Wait(); err != nil {
			t.Errorf("playground stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("paylink log:\n%s", logs.String())
		}
	})
	b := newBrowser(t, ctx)

	card := `//div[contains(@class,"b-header")][contains(., "£10.00 payment link")]`
	if err := chromedp.Do(b,
		chromedp.Navigate(p.URL),
		chromedp.WaitVisible(chromedp.ID("message")),
		chromedp.SendKeys(chromedp.ID("message"), "/paylink 10.00 GBP ref-123"+kb.Enter),
		chromedp.WaitVisible(card),
	); err != nil {
		t.Fatalf("typing the command and seeing the card: %v", err)
	}
	link, err := chromedp.Run(b, chromedp.AttributeValue(chromedp.CSS(`a[data-action-id="open_checkout"]`), "href"))
	if err != nil || !strings.HasPrefix(link.Value, p.URL+"/checkout/pi_") {
		t.Fatalf("the card's Open checkout button goes to %q (%v), want %s/checkout/pi_…", link.Value, err, p.URL)
	}

	if err := chromedp.Do(b, chromedp.Navigate(link.Value), chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
		t.Fatalf("opening the checkout page: %v", err)
	}
	amount, _ := chromedp.Run(b, chromedp.Text(chromedp.ID("amount")))
	reference, _ := chromedp.Run(b, chromedp.Text(chromedp.ID("reference")))
	if amount != "£10.00" || reference != "ref-123" {
		t.Errorf("checkout shows %q for %q, want £10.00 for ref-123", amount, reference)
	}
	if err := chromedp.Do(b, chromedp.Click(chromedp.ID("pay")), chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("paying on the checkout page: %v", err)
	}

	paid := `//div[contains(@class,"thread")]//div[contains(@class,"msg-text")][contains(., "Paid: £10.00 for ref-123")]`
	paidCard := `//div[contains(@class,"b-header")][contains(., "£10.00 paid")]`
	if err := chromedp.Do(b,
		chromedp.Navigate(p.URL),
		chromedp.WaitVisible(paid),
		chromedp.WaitVisible(paidCard),
	); err != nil {
		t.Fatalf("seeing Paid in the channel: %v", err)
	}
	thread, err := chromedp.Run(b, chromedp.Text(paid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(thread, "✅") {
		t.Errorf("the Paid notice reads %q: want the :white_check_mark: rendered as ✅", thread)
	}
	if strings.ContainsAny(thread, "<*") {
		t.Errorf("mrkdwn left unrendered in %q", thread)
	}
	if n := len(p.slack.Calls("chat.update")); n == 0 {
		t.Error("the fake Slack got no chat.update for the card")
	}

	if path := os.Getenv("PLAYGROUND_SCREENSHOT"); path != "" {
		screenshot(t, b, p, path)
	}
}

// screenshot adds a second, open link beside the paid one and saves the page.
func screenshot(t *testing.T, b context.Context, p *playground, path string) {
	t.Helper()
	if err := chromedp.Do(b,
		chromedp.EmulateViewport(1280, 1120),
		chromedp.SendKeys(chromedp.ID("message"), "/paylink €25 Order 236 --expires 24h"+kb.Enter),
		chromedp.WaitVisible(`//div[contains(@class,"b-header")][contains(., "€25.00 payment link")]`),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	png, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s saved in %s", p.URL, path)
}
