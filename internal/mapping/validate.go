package mapping

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/encoding/htmlindex"
)

// Matching modes and the key slots each needs (the API's matching option).
var matchingModes = []string{"email", "email_profile", "email_sub", "phone", "phone_sub", "profile_id",
	"push_sub", "custom", "custom_sub", "email_phone", "email_phone_sub"}

// modeKeys lists the key slots of each mode; for the email_phone modes either
// slot is enough (eitherKey).
var modeKeys = map[string][]string{
	"email": {"email"}, "email_profile": {"email"}, "email_sub": {"email"},
	"phone": {"phone"}, "phone_sub": {"phone"},
	"profile_id": {"profile_id"},
	"push_sub":   {"provider", "subscription_id"},
	"custom":     {"field_value"}, "custom_sub": {"field_value"},
	"email_phone": {"email", "phone"}, "email_phone_sub": {"email", "phone"},
}

func eitherKey(mode string) bool { return mode == "email_phone" || mode == "email_phone_sub" }

// Validate checks the whole config in one pass and returns a *[ConfigError]
// listing every problem (with file:line when the config came from a file),
// or nil. Run it again after flags override settings. It does not modify c.
func (c *Config) Validate() error {
	if ps := c.check(nil); len(ps) > 0 {
		return newConfigError(ps)
	}
	return nil
}

// check returns every problem; problems under a broken path (one that failed
// to decode; "" is the whole file) are left out, as they only echo the
// decoding problem.
func (c *Config) check(broken []string) []Problem {
	if slices.Contains(broken, "") {
		return nil
	}
	cc := newCompiler(c, modeCheck, nil)
	// When fields, match or subscriptions failed to decode, whether the
	// match keys can be supplied is unknown: do not guess.
	cc.skipKeyCheck = slices.ContainsFunc(broken, func(b string) bool {
		return isPathPrefix("fields", b) || isPathPrefix("match", b) || isPathPrefix("subscriptions", b)
	})
	cc.build()
	if len(broken) == 0 {
		return cc.problems
	}
	out := cc.problems[:0:0]
	for _, p := range cc.problems {
		if !slices.ContainsFunc(broken, func(b string) bool { return isPathPrefix(b, p.Path) }) {
			out = append(out, p)
		}
	}
	return out
}

func (cc *compiler) checkAPI() {
	a := &cc.cfg.API
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			cc.addf("api.url", "%q is not an http(s) URL such as https://api.example.com", shorten(a.URL, 60))
		case u.User != nil:
			cc.addf("api.url", "must not carry credentials; the token comes from ALTCRAFT_TOKEN or --token-file")
		case u.RawQuery != "" || u.Fragment != "":
			cc.addf("api.url", "must be a base URL without query or fragment; /api/v1.1/profiles/<endpoint> is appended to it")
		}
	}
	if a.Endpoint != "update" && a.Endpoint != "import" {
		cc.addf("api.endpoint", "%q is not an endpoint; use update (update existing profiles only) or import (add or update)", a.Endpoint)
	}
	if a.BatchSize < 1 || a.BatchSize > MaxBatchSize {
		cc.addf("api.batch_size", "%d is out of range; use 1 (one profile per call) up to %d", a.BatchSize, MaxBatchSize)
	}
	if a.Rate < 0 || math.IsNaN(a.Rate) || math.IsInf(a.Rate, 0) {
		cc.addf("api.rate", "%v is not a rate; use requests per second, or 0 for unlimited", a.Rate)
	}
	if a.Concurrency < 0 {
		cc.addf("api.concurrency", "%d is negative; use 0 (auto) or a positive number of requests in flight", a.Concurrency)
	}
	if a.Timeout <= 0 {
		cc.addf("api.timeout", "%v is not a timeout; use a positive duration such as 30s", a.Timeout)
	}
	if a.MaxAttempts < 1 {
		cc.addf("api.max_attempts", "%d is too small; use 1 (no retries) or more", a.MaxAttempts)
	}
	if a.Auth != "body" && a.Auth != "bearer" {
		cc.addf("api.auth", "%q is not an auth mode; use body (token in the JSON body) or bearer (Authorization header)", a.Auth)
	}
	if a.Compress != "" && a.Compress != "none" && a.Compress != "gzip" {
		cc.addf("api.compress", "%q is not a compression; use none (the default) or gzip (Content-Encoding: gzip)", a.Compress)
	}
}

func (cc *compiler) checkRequest() {
	r := &cc.cfg.Request
	switch {
	case r.DBID == 0:
		cc.addf("request.db_id", "is required: the id of the profile database, a positive integer")
	case r.DBID < 0:
		cc.addf("request.db_id", "%d is not a database id; use a positive integer", r.DBID)
	}
	if !slices.Contains(matchingModes, r.Matching) {
		cc.addf("request.matching", "%q is not a matching mode; use one of %s", r.Matching, strings.Join(matchingModes, ", "))
	}
	if r.Matching == "profile_id" && cc.cfg.API.Endpoint == "import" {
		cc.addf("request.matching", "profile_id matching only works with update; set api.endpoint: update")
	}
	if r.ResourceID < 0 {
		cc.addf("request.resource_id", "%d is not a resource id; use a positive integer or leave it out", r.ResourceID)
	}
	for _, seg := range []struct {
		name string
		ids  []int
	}{{"request.add_to_segments", r.AddToSegments}, {"request.remove_from_segments", r.RemoveFromSegments}} {
		name, ids := seg.name, seg.ids
		for i, id := range ids {
			if id <= 0 {
				cc.addf(fmt.Sprintf("%s[%d]", name, i), "%d is not a segment id; use positive integers", id)
			}
		}
		if len(ids) > 0 && cc.cfg.API.BatchSize > 1 {
			cc.addf(name, "cannot be used with api.batch_size %d: the batch endpoints do not take add_to_segments or remove_from_segments; use batch_size 1 or drop the segments", cc.cfg.API.BatchSize)
		}
	}
}

func (cc *compiler) checkInput() {
	in := &cc.cfg.Input
	switch strings.ToLower(in.Format) {
	case "", "csv", "tsv", "jsonl", "xlsx":
	default:
		cc.addf("input.format", "%q is not a format; use csv, tsv, jsonl or xlsx, or leave it out to detect it", in.Format)
	}
	if in.Delimiter != "" {
		if _, err := parseDelimiter(in.Delimiter); err != nil {
			cc.addf("input.delimiter", "%v", err)
		}
	}
	if in.Encoding != "" {
		if _, err := htmlindex.Get(in.Encoding); err != nil {
			cc.addf("input.encoding", "%q is not a known encoding; use a name such as windows-1251, cp866, koi8-r, utf-16le or utf-8", in.Encoding)
		}
	}
	if in.SkipLines < 0 {
		cc.addf("input.skip_lines", "%d is negative; use the number of lines above the header, or 0", in.SkipLines)
	}
	if in.Header != nil && !*in.Header && len(in.Columns) == 0 && strings.ToLower(in.Format) != "jsonl" {
		cc.addf("input.columns", "is required when input.header is false: list the column names in file order")
	}
	seen := make(map[string]bool, len(in.Columns))
	for i, c := range in.Columns {
		p := fmt.Sprintf("input.columns[%d]", i)
		switch {
		case strings.TrimSpace(c) == "":
			cc.addf(p, "is empty; every column needs a name")
		case seen[c]:
			cc.addf(p, "%q is listed twice", c)
		}
		seen[c] = true
	}
	if !phonenumbers.GetSupportedRegions()[strings.ToUpper(in.PhoneRegion)] {
		cc.addf("input.phone_region", "%q is not a phone region; use an ISO 3166 code such as RU, KZ or BY", in.PhoneRegion)
	}
}

// parseDelimiter accepts one character (not a quote or line break), "\t"
// written with a backslash, or the word tab.
func parseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "tab", `\t`:
		return '\t', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("%q is not a delimiter; use one character such as \";\", \",\", \"|\" or tab", s)
	}
	return r, nil
}
