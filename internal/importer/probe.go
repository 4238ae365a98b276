package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"importer/internal/jsonenc"
	"importer/internal/mapping"
	"importer/internal/sender"
)

// ProbeOptions are the command line of `importer probe`.
type ProbeOptions struct {
	Config    string // mapping config path (required)
	APIURL    string // overrides ALTCRAFT_API_URL and api.url
	TokenFile string // the token's file; otherwise ALTCRAFT_TOKEN
	Yes       bool   // send without asking

	Stdin  io.Reader // the answer to the question; nil = os.Stdin
	Stdout io.Writer // the report; nil = os.Stdout
	Stderr io.Writer // the question, so it shows when stdout is a file; nil = os.Stderr
	Logger *slog.Logger
	Getenv func(string) string // nil = os.Getenv
	// StdinIsTerminal says whether a person can answer the question; nil =
	// golang.org/x/term on os.Stdin when Stdin is nil, false otherwise.
	StdinIsTerminal func() bool
}

// The probe's two batch items: a test profile anyone can recognise and
// delete, and an item every Altcraft installation must refuse. One valid
// and one invalid item make the order of the results visible: a reply that
// answers them in another order shows item 1 failed and item 2 ok.
const (
	probeEmail   = "importer-probe@example.com"
	probeName    = "importer probe"
	probeInvalid = "not-an-email"
)

// probeItems counts the items of the probe's batch.
const probeItems = 2

// Bounds of the probe's reply: what it reads (a reply to two items is a few
// hundred bytes; anything near this is not the API's) and what it prints.
const (
	probeMaxRead = 1 << 20
	probeMaxShow = 64 << 10
)

// errProbeAborted is returned when the user did not confirm the write.
var errProbeAborted = errors.New("aborted: nothing was sent")

// probeItem is one batch element of the probe: the e-mail is the match key
// and a profile field, as the mapper puts it into a batch element.
type probeItem struct{ email, fname string }

// AppendItem appends {"email":…[,"_fname":…]}.
func (p probeItem) AppendItem(dst []byte) []byte {
	dst = append(dst, `{"email":`...)
	dst = jsonenc.AppendString(dst, p.email)
	if p.fname != "" {
		dst = append(dst, `,"_fname":`...)
		dst = jsonenc.AppendString(dst, p.fname)
	}
	return append(dst, '}')
}

// AppendSingle appends the members of the same profile as a single
// request: the key on top, then "data" holding the item.
func (p probeItem) AppendSingle(dst []byte) []byte {
	dst = append(dst, `"email":`...)
	dst = jsonenc.AppendString(dst, p.email)
	dst = append(dst, `,"data":`...)
	return p.AppendItem(dst)
}

var probeBatch = []sender.Payload{probeItem{probeEmail, probeName}, probeItem{email: probeInvalid}}

// probeRequest is the one request the probe sends.
type probeRequest struct {
	url    string // …/api/v1.1/profiles/import_batch
	dbID   int
	bearer bool   // the token goes in the Authorization header
	body   []byte // as sent: holds the token unless bearer
	shown  []byte // as printed: the token as "***"
}

func newProbeRequest(cfg *mapping.Config, token string) probeRequest {
	r := probeRequest{
		url:    strings.TrimRight(cfg.API.URL, "/") + "/api/v1.1/profiles/import_batch",
		dbID:   cfg.Request.DBID,
		bearer: cfg.API.Auth == "bearer",
	}
	// Matching by email whatever the config says: the items carry an
	// e-mail and nothing else. Triggers are skipped so that the test
	// profile starts no scenario or campaign.
	env := strconv.AppendInt([]byte(`"db_id":`), int64(r.dbID), 10)
	env = append(env, `,"matching":"email","skip_triggers":true`...)
	bodyToken, shownToken := token, "***"
	if r.bearer {
		bodyToken, shownToken = "", ""
	}
	r.body = sender.AppendBatchBody(nil, bodyToken, env, probeBatch)
	r.shown = sender.AppendBatchBody(nil, shownToken, env, probeBatch)
	return r
}

// Probe executes `importer probe`: it sends one import_batch request of two
// items (a test profile and an invalid one) to the config's database, after
// showing it and asking (unless Yes), prints the reply as received and says
// whether it has one result per item, in order, as the importer assumes.
// It returns matches true when it does; an error when the probe could not
// be made or the API refused it (the token, the account, the URL), or the
// user did not confirm (then nothing was sent).
func Probe(ctx context.Context, o ProbeOptions) (matches bool, err error) {
	out := o.Stdout
	if out == nil {
		out = os.Stdout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ro := Options{Config: o.Config, APIURL: o.APIURL, TokenFile: o.TokenFile, Getenv: o.Getenv}
	cfg, err := loadConfig(&ro)
	if err != nil {
		return false, err
	}
	if err := checkURL(cfg.API.URL, log); err != nil {
		return false, err
	}
	token, err := readToken(&ro, log)
	if err != nil {
		return false, err
	}
	req := newProbeRequest(cfg, token)
	printProbePlan(out, cfg, req)
	if err := confirm(ctx, &o, req.dbID); err != nil {
		return false, err
	}
	timeout := cfg.API.Timeout
	if timeout <= 0 {
		timeout = mapping.DefaultTimeout
	}
	rep, err := sendProbe(ctx, req, token, timeout)
	if err != nil {
		return false, fmt.Errorf("%w (if the request reached the API, the test profile %s may be in database %d)",
			err, probeEmail, req.dbID)
	}
	printReply(out, rep, token)
	check := maskCheck(sender.CheckBatchReply(rep.resp, rep.body, probeItems), token)
	v := judge(check, rep.resp.StatusCode)
	printVerdict(out, cfg, req, check, v)
	if v.stop != "" {
		return false, errors.New(v.stop)
	}
	return v.matches, nil
}

// maskCheck masks the token in everything of c quoted from the reply.
func maskCheck(c sender.BatchCheck, token string) sender.BatchCheck {
	c.Why = mask(c.Why, token)
	for i := range c.Items {
		c.Items[i].Text = mask(c.Items[i].Text, token)
		c.Items[i].ProfileID = mask(c.Items[i].ProfileID, token)
	}
	return c
}

// ProbeExitCode maps Probe's outcome to the process exit code: 0 the reply
// matches, 2 it differs, 1 not checked (130 when interrupted).
func ProbeExitCode(matches bool, err error) int {
	switch {
	case err != nil:
		return ExitCode(err)
	case !matches:
		return ExitRowErrors
	}
	return ExitOK
}

// printProbePlan shows exactly what will be sent.
func printProbePlan(w io.Writer, cfg *mapping.Config, r probeRequest) {
	fmt.Fprintf(w, "importer probe sends one batch request to see how this Altcraft installation answers it:\n\n")
	fmt.Fprintf(w, "  POST %s\n", redactURL(r.url))
	fmt.Fprintf(w, "  database: %d (request.db_id)\n", r.dbID)
	fmt.Fprintf(w, "  endpoint: import_batch, whatever api.endpoint says (update_batch would refuse a new profile)\n")
	matching := "matching: email, whatever request.matching says (the test items carry only an e-mail)"
	if m := cfg.Request.Matching; m != "" && m != "email" {
		matching += "; the config says " + m
	}
	fmt.Fprintf(w, "  %s\n", matching)
	fmt.Fprintf(w, "  item 1: %s  a test profile: created, or updated if it exists\n", probeBatch[0].AppendItem(nil))
	fmt.Fprintf(w, "  item 2: %s  invalid on purpose: the API should refuse it\n", probeBatch[1].AppendItem(nil))
	if r.bearer {
		fmt.Fprintf(w, "  header: Authorization: Bearer ***\n")
	}
	fmt.Fprintf(w, "  body (token shown as \"***\"):\n    %s\n\n", r.shown)
}

// confirm asks before anything is written, unless Yes. Only a person at a
// terminal can answer; a script must pass --yes. The question goes to
// stderr, as prompts do: stdout may be a file.
func confirm(ctx context.Context, o *ProbeOptions, dbID int) error {
	if o.Yes {
		return nil
	}
	w := o.Stderr
	if w == nil {
		w = os.Stderr
	}
	if !stdinIsTerminal(o) {
		return errors.New("not asking: stdin is not a terminal; pass --yes to send the request without asking")
	}
	in := o.Stdin
	if in == nil {
		in = os.Stdin
	}
	fmt.Fprintf(w, "write these to database %d? [y/N] ", dbID)
	// The read cannot be interrupted; an interrupt ends the wait instead.
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return ctx.Err()
	case line := <-answer:
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(w) // end of input: end the question's line
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		}
		return errProbeAborted
	}
}

func stdinIsTerminal(o *ProbeOptions) bool {
	if o.StdinIsTerminal != nil {
		return o.StdinIsTerminal()
	}
	return o.Stdin == nil && term.IsTerminal(int(os.Stdin.Fd()))
}

// probeReply is the reply as received.
type probeReply struct {
	resp      *http.Response // its body is read and closed
	body      []byte
	truncated bool // more than probeMaxRead bytes: the rest was not read
}

// sendProbe sends the request once, following no redirect: a redirected
// POST would be sent again, token and all, and the probe is about what the
// API answers, redirects included.
func sendProbe(ctx context.Context, r probeRequest, token string, timeout time.Duration) (*probeReply, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("API URL %s: %w", redactURL(r.url), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "importer (Altcraft bulk loader)")
	if r.bearer {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error names the method and the URL, which holds no secret
		// (checkURL refuses credentials and queries).
		return nil, fmt.Errorf("the probe request failed: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, probeMaxRead+1))
	if err != nil {
		return nil, fmt.Errorf("reading the reply (%s): %w", resp.Status, err)
	}
	rep := &probeReply{resp: resp, body: body}
	if len(body) > probeMaxRead {
		rep.body, rep.truncated = body[:probeMaxRead], true
	}
	return rep, nil
}

// printReply prints the reply as received: the status line, the headers
// that matter to the verdict, and the body, with the token masked and
// control characters escaped so a hostile reply cannot drive the terminal.
func printReply(w io.Writer, r *probeReply, token string) {
	resp := r.resp
	fmt.Fprintf(w, "reply, as received (token masked, control characters escaped):\n\n")
	fmt.Fprintf(w, "  %s %s\n", resp.Proto, mask(printable([]byte(resp.Status)), token))
	for _, h := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := resp.Header.Get(h); v != "" || h == "Content-Type" {
			if v == "" {
				v = "(none)"
			}
			fmt.Fprintf(w, "  %s: %s\n", h, mask(printable([]byte(v)), token))
		}
	}
	body := r.body
	more := ""
	if len(body) > probeMaxShow {
		more = fmt.Sprintf("\n  … %d more bytes not shown", len(body)-probeMaxShow)
		body = body[:probeMaxShow]
	}
	if r.truncated {
		more += fmt.Sprintf("\n  … the reply is longer than %d bytes: the rest was not read", probeMaxRead)
	}
	switch {
	case len(r.body) == 0:
		fmt.Fprintf(w, "\n  (empty body)\n\n")
	default:
		text := mask(printable(bytes.TrimSuffix(body, []byte("\n"))), token)
		fmt.Fprintf(w, "\n  %s%s\n\n", strings.ReplaceAll(text, "\n", "\n  "), more)
	}
}

// mask replaces the token with "***".
func mask(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "***")
}

// printable returns b as text with invalid UTF-8 and control characters
// (but newlines and tabs) escaped as \xNN or \u00NN.
func printable(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r == '\r' && len(b) > 1 && b[1] == '\n':
			// a CRLF line end: the newline ends the line
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// probeVerdict is the probe's conclusion on one reply.
type probeVerdict struct {
	matches bool
	what    string // after "matches: " or "differs: "
	Why     string // the importer's own reading of the reply, as its journal would say it
	effect  string // what the importer does with replies like this one
	note    string // a remark that changes nothing
	stop    string // the probe could not check: the error to return
}

// What the importer does with replies that differ from its assumption.
const (
	effectUnmatched = "With such replies the importer cannot tell which rows were applied: rows using only " +
		"set are sent again, one per request (and so is every later row of the run); rows using incr, " +
		"add or delete end unknown, to be checked by hand."
	effectMaybe = "The importer reads such a reply as \"the batch may have been applied\": rows using only " +
		"set are sent again; rows using incr, add or delete end unknown, to be checked by hand."
	effectRefused = "The importer marks every row of such a batch failed with this error, the valid rows " +
		"too (the rejects file holds them, to run again). If the error is about the invalid test item, " +
		"this installation refuses a whole batch for one bad profile; if it is about something else " +
		"(request.db_id, the token), fix that and probe again."
	effectOrder = "The importer takes result i as the answer for row i: with replies like this one, rows " +
		"could be recorded with another row's outcome."
)

// judge compares the pool's reading of the reply with what the importer
// assumes: one result per item, in order, item 1 applied, item 2 refused.
func judge(c sender.BatchCheck, status int) probeVerdict {
	v := probeVerdict{Why: c.Why}
	switch c.Kind {
	case sender.ReplyFatal:
		v.stop = c.Why
	case sender.ReplyRetry:
		v.stop = "the API did not take the request now (" + c.Why + "); nothing was written: probe again later"
	case sender.ReplyUnmatched:
		v.what = fmt.Sprintf("%d items, %d %s", probeItems, c.Results, pluralInt(c.Results, "result", "results"))
		if c.Results < 0 {
			v.what = "no result list"
		}
		v.effect = effectUnmatched
	case sender.ReplyMaybe:
		v.what = "not the API's JSON envelope"
		if status < 200 || status > 299 {
			v.what = httpStatusText(status) + ", not 200, without the API's envelope"
		}
		v.effect = effectMaybe
	case sender.ReplyRefused:
		v.what = "the API refused the whole batch (error " + c.Code + ": " + c.Why + ")"
		v.Why = ""
		v.effect = effectRefused
	case sender.ReplyMatched:
		v = judgeItems(c.Items)
		if status != http.StatusOK {
			v.note = httpStatusText(status) + ", not 200: the importer takes any 2xx reply the same way."
		}
	}
	return v
}

// judgeItems judges a reply with one result per item.
func judgeItems(items []sender.BatchItem) probeVerdict {
	var missing []string
	for i, it := range items {
		if !it.HasCode {
			missing = append(missing, fmt.Sprintf("item %d has no error code", i+1))
		}
	}
	if len(missing) > 0 {
		return probeVerdict{what: strings.Join(missing, ", "),
			effect: "The importer reads a result without an error code as \"this row may have been applied\": " +
				"a row using only set is sent again on its own; a row using incr, add or delete ends unknown, to be checked by hand."}
	}
	first, second := items[0], items[1]
	detail := "(" + describeItem(1, first) + ", " + describeItem(2, second) + ")"
	switch {
	case first.OK && !second.OK:
		v := probeVerdict{matches: true, what: "one result per item, in order " + detail}
		if first.ProfileID == "" {
			v.note = "Item 1 has no profile_id: rows sent in batches will have an empty profile_id in the results journal."
		}
		return v
	case first.OK && second.OK:
		return probeVerdict{what: "the invalid item was reported as ok " + detail,
			effect: "Either this installation takes \"" + probeInvalid + "\" as an e-mail (then a second profile, " +
				probeInvalid + ", is in the database too: delete it), or the results do not answer the items one by one; " +
				"the probe cannot tell which. " + effectOrder}
	case !first.OK && second.OK:
		return probeVerdict{what: "the results look reversed: the valid item was refused and the invalid one reported as ok " + detail,
			effect: effectOrder}
	}
	return probeVerdict{what: "both items were refused, so the order of the results cannot be seen " + detail,
		effect: "Fix what item 1's error says (a field this database requires?) and probe again. " + effectOrder}
}

func describeItem(n int, it sender.BatchItem) string {
	if it.OK {
		if it.ProfileID == "" {
			return fmt.Sprintf("item %d ok without a profile_id", n)
		}
		return fmt.Sprintf("item %d ok with profile_id %s", n, it.ProfileID)
	}
	s := fmt.Sprintf("item %d error %d", n, it.Code)
	if it.Text != "" {
		s += ": " + it.Text
	}
	return s
}

// printVerdict prints the conclusion, what the importer does with such
// replies, and what to do about the test profile.
func printVerdict(w io.Writer, cfg *mapping.Config, r probeRequest, c sender.BatchCheck, v probeVerdict) {
	if v.stop != "" {
		fmt.Fprintf(w, "verdict: not checked: the API refused the request (the reason follows on stderr)\n")
		return
	}
	word := "differs"
	if v.matches {
		word = "matches"
	}
	fmt.Fprintf(w, "verdict: %s: %s\n", word, printable([]byte(v.what)))
	if !v.matches && v.Why != "" {
		writeWrapped(w, "The importer's reading of it: "+printable([]byte(v.Why)))
	}
	if v.note != "" {
		writeWrapped(w, v.note)
	}
	if v.matches {
		writeWrapped(w, "The importer's batches (api.batch_size > 1) work with this installation as they are.")
	} else {
		writeWrapped(w, v.effect)
		writeWrapped(w, "Until this is clarified with Altcraft, set api.batch_size: 1 in configs whose fields use "+
			"incr, add or delete (one profile per request: every reply is unambiguous)"+riskyAdvice(cfg)+".")
	}
	fmt.Fprintln(w)
	if v.matches { // item 1 was ok
		where := ""
		if pid := c.Items[0].ProfileID; pid != "" {
			where = ", profile_id " + printable([]byte(pid))
		}
		writeWrapped(w, fmt.Sprintf("The test profile %s is now in database %d%s.", probeEmail, r.dbID, where))
	} else {
		writeWrapped(w, fmt.Sprintf("The test profile %s may be in database %d now.", probeEmail, r.dbID))
	}
	writeWrapped(w, "Delete it in Altcraft when done: from its page in the database's profile list, or with")
	fmt.Fprintf(w, "    POST /api/v1.1/profiles/delete {\"token\":…,\"db_id\":%d,\"matching\":\"email\",\"email\":%q}\n", r.dbID, probeEmail)
}

// wrapWidth is where writeWrapped breaks lines.
const wrapWidth = 100

// writeWrapped writes text as lines of at most wrapWidth columns (a longer
// word keeps its own line), each indented by two spaces.
func writeWrapped(w io.Writer, text string) {
	line := 0
	for word := range strings.FieldsSeq(text) {
		n := utf8.RuneCountInString(word)
		switch {
		case line == 0:
			io.WriteString(w, "  ")
			line = 2
		case line+1+n > wrapWidth:
			io.WriteString(w, "\n  ")
			line = 2
		default:
			io.WriteString(w, " ")
			line++
		}
		io.WriteString(w, word)
		line += n
	}
	io.WriteString(w, "\n")
}

// riskyAdvice says whether the probed config itself uses incr, add or
// delete, and with which batch size.
func riskyAdvice(cfg *mapping.Config) string {
	var risky []string
	add := func(prefix string, fs mapping.Fields) {
		for _, f := range fs {
			switch f.Action {
			case "incr", "add", "delete":
				risky = append(risky, prefix+f.Name+" ("+f.Action+")")
			}
		}
	}
	add("", cfg.Fields)
	for i, s := range cfg.Subscriptions {
		add(fmt.Sprintf("subscriptions[%d].custom_fields.", i), s.CustomFields)
	}
	if len(risky) == 0 {
		return "; this config uses none"
	}
	return fmt.Sprintf("; this config does: %s, with api.batch_size %d", strings.Join(risky, ", "), cfg.API.BatchSize)
}

func httpStatusText(code int) string {
	s := "HTTP " + strconv.Itoa(code)
	if t := http.StatusText(code); t != "" {
		s += " " + t
	}
	return s
}

func pluralInt(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
