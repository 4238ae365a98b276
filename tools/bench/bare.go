package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// bareParse reads a CSV file with encoding/csv as fast as the standard
// library goes on one goroutine (a 64 KiB buffer, ReuseRecord, nothing done
// with the fields) and returns the data rows (the header excluded) and the
// time taken. It is the yardstick of validate's throughput.
func bareParse(path string) (int64, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bare csv: %w", err)
	}
	defer f.Close()
	start := time.Now()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	var n int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, 0, fmt.Errorf("bare csv %s: %w", path, err)
		}
		n++
	}
	return max(n-1, 0), time.Since(start), nil
}

// readBodies returns the request bodies of a --payloads dump, the token
// (shown there as "***") put back, in file order: exactly what the
// importer sends for those rows.
func readBodies(path, token string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("payloads: %w", err)
	}
	defer f.Close()
	tok, err := json.Marshal(token)
	if err != nil {
		return nil, fmt.Errorf("payloads: %w", err)
	}
	masked := []byte(`{"token":"***"`)
	real := append([]byte(`{"token":`), tok...)
	var bodies [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var line struct {
			Request json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("payloads %s line %d: %w", path, len(bodies)+1, err)
		}
		if !bytes.HasPrefix(line.Request, masked) {
			return nil, fmt.Errorf("payloads %s line %d: request does not start with %s", path, len(bodies)+1, masked)
		}
		body := append(append([]byte(nil), real...), line.Request[len(masked):]...)
		bodies = append(bodies, body)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("payloads %s: %w", path, err)
	}
	return bodies, nil
}

// clientResult is one run of the bare client.
type clientResult struct {
	Requests int64 // replies read
	Errors   int64 // transport errors, non-200 replies and API errors
	Elapsed  time.Duration
}

// Rate is requests per second.
func (c clientResult) Rate() float64 { return float64(c.Requests) / c.Elapsed.Seconds() }

// bareClient POSTs each body once to url from conc goroutines sharing one
// keep-alive transport sized for conc connections, reading every reply in
// full. It is the yardstick of `importer run`'s request rate: the least a
// Go program can do to send those requests.
func bareClient(ctx context.Context, url string, bodies [][]byte, conc int) (clientResult, error) {
	client := keepAliveClient(conc, 30*time.Second)
	defer client.CloseIdleConnections()
	var next, done, errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) {
					return
				}
				ok, err := post(ctx, client, url, bodies[i], &buf)
				done.Add(1)
				if err != nil || !ok {
					errs.Add(1)
					if err != nil {
						once.Do(func() { firstErr = err })
					}
				}
			}
		}()
	}
	wg.Wait()
	res := clientResult{Requests: done.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.Errors > res.Requests/100 {
		return res, fmt.Errorf("bare client: %d of %d requests failed (first error: %v)", res.Errors, res.Requests, firstErr)
	}
	return res, nil
}

// apiOK is how a successful reply of the fake starts.
var apiOK = []byte(`{"error":0,`)

func post(ctx context.Context, c *http.Client, url string, body []byte, buf *[]byte) (bool, error) {
	if err := postReply(ctx, c, url, body, buf); err != nil {
		return false, err
	}
	return bytes.HasPrefix(*buf, apiOK), nil
}

// keepAliveClient is an HTTP client over one keep-alive transport that
// keeps up to conc idle connections to the host, so that conc goroutines
// never dial twice.
func keepAliveClient(conc int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// postReply POSTs a JSON body to url and reads the whole reply into *buf,
// reusing its storage; a reply other than 200 is an error.
func postReply(ctx context.Context, c *http.Client, url string, body []byte, buf *[]byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	b := bytes.NewBuffer((*buf)[:0])
	_, err = b.ReadFrom(resp.Body)
	resp.Body.Close()
	*buf = b.Bytes()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
