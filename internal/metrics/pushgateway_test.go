package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pushgatewayBinary is where Debian's prometheus-pushgateway package puts
// the server (.ci/run installs it).
const pushgatewayBinary = "/usr/bin/prometheus-pushgateway"

// TestPushgateway pushes a success and then a failure of one group to a
// real Pushgateway, scrapes it, and checks that the failure replaced every
// gauge except the last success; a second group is left alone.
func TestPushgateway(t *testing.T) {
	base := startPushgateway(t)
	ctx := context.Background()

	other := okRun(night1)
	other.Shard = "2/4"
	for _, r := range []Run{okRun(night1), other, failedRun(night2)} {
		if err := Push(ctx, base, r); err != nil {
			t.Fatalf("Push(%s): %v", r.Shard, err)
		}
	}

	got := scrape(t, base)
	group := map[string]string{"job": "nightly", "config": "legacy-crm", "shard": "1/4", "instance": ""}
	want := expected(failedRun(night2), group, unixSeconds(night1))
	for k, v := range expected(other, with(group, "shard", "2/4"), unixSeconds(night1)) {
		want[k] = v
	}
	// Keep only our series: the gateway adds its own, and push_time_seconds.
	mine := make(map[string]float64)
	for k := range want {
		v, ok := got[k]
		if ok {
			mine[k] = v
		}
	}
	if diff := cmp.Diff(want, mine); diff != "" {
		t.Errorf("scraped series (-want +got):\n%s", diff)
	}
	if _, ok := got[key("push_time_seconds", group)]; !ok {
		t.Errorf("no push_time_seconds for the group: the series were not pushed under job/config/shard")
	}
}

// startPushgateway runs the Debian binary on a free loopback port and
// returns its base URL once it is ready. The process and its persistence
// file go away with the test.
func startPushgateway(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(pushgatewayBinary); err != nil {
		t.Skipf("%s not installed (apt-get install -y prometheus-pushgateway; .ci/run does): %v", pushgatewayBinary, err)
	}
	dir := t.TempDir()
	var lastErr error
	// The gateway cannot report a port it picked itself, so the test picks
	// one; another process may take it in between, hence the retries.
	for range 5 {
		addr, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		cmd := exec.Command(pushgatewayBinary,
			"--web.listen-address="+addr,
			"--persistence.file="+filepath.Join(dir, "pushgateway.data"),
			"--log.level=warn")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", pushgatewayBinary, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		base := "http://" + addr
		if err := waitReady(base, exited); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; its log:\n%s", err, logs.String())
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return base
	}
	t.Fatalf("pushgateway did not start: %v", lastErr)
	return ""
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// waitReady polls /-/ready until it answers 200, the process exits (port
// taken), or 15 s pass.
func waitReady(base string, exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("pushgateway exited: %v", err)
		default:
		}
		resp, err := client.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("pushgateway not ready after 15s")
}

func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d", resp.StatusCode)
	}
	return series(t, resp.Body)
}
