package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// batchResult is one run of the bare batch sender.
type batchResult struct {
	Rows     int64 // rows read and sent
	Requests int64 // batch requests
	OK       int64 // items the API accepted
	Elapsed  time.Duration
}

// rowMeta is what a result line needs of a row besides the reply.
type rowMeta struct {
	row, line int64
	key       []byte
}

// batchJob is one batch on its way: its body and its rows, in item order.
type batchJob struct {
	body []byte
	rows []rowMeta
	keys []byte // the rows' keys, back to back
}

// bareBatchSend is the yardstick of `importer run --batch-size N`'s CPU
// per row: the least a Go program does to send a generated export with
// the text mapping (testdata/text.yaml) in batches. One goroutine reads
// the file with handCSV and builds each row's batch item by code written
// for that mapping (handTextItem); conc goroutines POST the batches to url
// over one keep-alive transport and scan each reply for the items'
// results; one goroutine writes a result line per row, as the importer's
// journal has it, to results.
func bareBatchSend(ctx context.Context, url, token, in string, batch, conc int, results io.Writer) (batchResult, error) {
	var res batchResult
	f, err := os.Open(in)
	if err != nil {
		return res, fmt.Errorf("bare batch: %w", err)
	}
	defer f.Close()
	csv := newHandCSV(f)
	if err := csv.header(); err != nil {
		return res, err
	}
	client := keepAliveClient(conc, 60*time.Second)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	jobs := make(chan *batchJob, conc)
	lines := make(chan []byte, conc)
	free := sync.Pool{New: func() any { return new(batchJob) }}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range conc {
		wg.Go(func() {
			var reply []byte
			for j := range jobs {
				var out []byte
				var ok int64
				var err error
				reply, out, ok, err = postBatch(ctx, client, url, j, reply)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				res.Requests++
				res.OK += ok
				mu.Unlock()
				free.Put(j)
				select {
				case lines <- out:
				case <-ctx.Done():
				}
			}
		})
	}
	var wdone sync.WaitGroup
	var werr error
	wdone.Go(func() {
		w := bufio.NewWriterSize(results, 64<<10)
		w.WriteString(journalHeader)
		for b := range lines {
			w.Write(b)
		}
		werr = w.Flush()
	})

	start := time.Now()
	head := append([]byte(`{"token":`), appendJSONStr(nil, []byte(token))...)
	head = append(head, `,"db_id":1,"matching":"email","data":[`...)
	j := newJob(&free, head)
	var rerr error
	for ctx.Err() == nil {
		line, err := csv.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		res.Rows++
		if len(j.rows) > 0 {
			j.body = append(j.body, ',')
		}
		at := len(j.keys)
		if j.body, j.keys, err = handTextItem(j.body, j.keys, csv.fields); err != nil {
			rerr = fmt.Errorf("bare batch: row %d (line %d): %w", res.Rows, line, err)
			break
		}
		j.rows = append(j.rows, rowMeta{row: res.Rows, line: line, key: j.keys[at:len(j.keys):len(j.keys)]})
		if len(j.rows) == batch {
			j.body = append(j.body, "]}"...)
			select {
			case jobs <- j:
			case <-ctx.Done():
			}
			j = newJob(&free, head)
		}
	}
	if len(j.rows) > 0 && rerr == nil {
		j.body = append(j.body, "]}"...)
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	close(lines)
	wdone.Wait()
	res.Elapsed = time.Since(start)
	switch {
	case rerr != nil:
		return res, rerr
	case context.Cause(ctx) != nil:
		return res, context.Cause(ctx)
	case werr != nil:
		return res, fmt.Errorf("bare batch: %w", werr)
	case res.OK != res.Rows:
		return res, fmt.Errorf("bare batch: %d of %d rows ok", res.OK, res.Rows)
	}
	return res, nil
}

// newJob takes a job from the pool (a job goes back once its result lines
// are built), its body started with head.
func newJob(free *sync.Pool, head []byte) *batchJob {
	j := free.Get().(*batchJob)
	j.body = append(j.body[:0], head...)
	j.rows, j.keys = j.rows[:0], j.keys[:0]
	return j
}

// postBatch sends one batch and turns its reply into result lines.
func postBatch(ctx context.Context, c *http.Client, url string, j *batchJob, buf []byte) (reply, lines []byte, ok int64, err error) {
	if err := postReply(ctx, c, url, j.body, &buf); err != nil {
		return buf, nil, 0, fmt.Errorf("bare batch: %w", err)
	}
	lines = make([]byte, 0, 64*len(j.rows))
	err = scanBatchReply(buf, len(j.rows), func(i int, code int64, id []byte) error {
		m := &j.rows[i]
		if code != 0 {
			// The importer's line would carry the API's error text; rather
			// than write other bytes, the yardstick stops.
			return fmt.Errorf("bare batch: row %d (line %d): API error %d", m.row, m.line, code)
		}
		ok++
		lines = strconv.AppendInt(lines, m.row, 10)
		lines = append(lines, ',')
		lines = strconv.AppendInt(lines, m.line, 10)
		lines = append(lines, ',')
		lines = appendCSVCell(lines, m.key)
		lines = append(lines, ",ok,"...)
		lines = append(lines, id...)
		lines = append(lines, ",,,1\n"...)
		return nil
	})
	return buf, lines, ok, err
}

// scanBatchReply reads a batch reply of the API, {"error":0,...,"result":
// [{"error":0,...,"profile_id":"..."},...]}, by scanning for the members it
// needs, and calls item for each of the n results in order; item's error
// stops the scan.
func scanBatchReply(b []byte, n int, item func(i int, code int64, profileID []byte) error) error {
	if !bytes.HasPrefix(b, []byte(`{"error":0,`)) {
		return fmt.Errorf("bare batch: reply %.80q", b)
	}
	at := bytes.Index(b, []byte(`"result":[`))
	if at < 0 {
		return errors.New("bare batch: reply without results")
	}
	b = b[at+len(`"result":[`):]
	for i := range n {
		k := bytes.Index(b, []byte(`{"error":`))
		if k < 0 {
			return fmt.Errorf("bare batch: reply has %d results, want %d", i, n)
		}
		b = b[k+len(`{"error":`):]
		code, j := int64(0), 0
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			code = code*10 + int64(b[j]-'0')
			j++
		}
		b = b[j:]
		end := bytes.IndexByte(b, '}')
		if end < 0 {
			return errors.New("bare batch: reply cut short")
		}
		var id []byte
		if p := bytes.Index(b[:end], []byte(`"profile_id":"`)); p >= 0 && code == 0 {
			id = b[p+len(`"profile_id":"`) : end]
			if q := bytes.IndexByte(id, '"'); q >= 0 {
				id = id[:q]
			}
		}
		if err := item(i, code, id); err != nil {
			return err
		}
		b = b[end:]
	}
	return nil
}

// textColumns are the data members of testdata/text.yaml, by column, in
// config order; the e-mail (column 3) is the match key and leads each item.
var textColumns = [...]struct {
	col    int
	member string
}{
	{0, `,"crm_id":`}, {1, `,"_fname":`}, {2, `,"_lname":`}, {4, `,"phone_raw":`}, {5, `,"birthday_raw":`},
	{6, `,"gender_raw":`}, {7, `,"city":`}, {8, `,"subscribed_raw":`}, {9, `,"comment":`},
}

// handTextItem appends the batch item of one row for testdata/text.yaml
// ({"email":E, then every other non-empty cell, trimmed}) and its key.
func handTextItem(body, keys []byte, f [][]byte) ([]byte, []byte, error) {
	if len(f) != len(Columns) {
		return body, keys, fmt.Errorf("%d fields, want %d", len(f), len(Columns))
	}
	email := trim(f[3])
	if len(email) == 0 {
		return body, keys, errors.New("no e-mail")
	}
	keys = append(keys, email...)
	body = append(body, `{"email":`...)
	body = appendJSONStr(body, email)
	for _, c := range textColumns {
		if v := trim(f[c.col]); len(v) > 0 {
			body = append(body, c.member...)
			body = appendJSONStr(body, v)
		}
	}
	return append(body, '}'), keys, nil
}
