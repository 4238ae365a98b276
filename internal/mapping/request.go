package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// Request is one mapped row: the profile's match keys and data, encoded.
// It is immutable and safe to share between goroutines until its owner
// calls Release.
type Request struct {
	Row, Line int64
	// Key is the match key as text: the e-mail as sent, the phone in E.164,
	// the profile id or custom value, "provider/subscription_id" for
	// push_sub, "email|phone" for the email_phone modes. It orders, shards
	// and identifies the row in the results.
	Key string
	// Risky marks a row that uses incr, add or delete: resending it after an
	// unknown outcome could apply it twice.
	Risky bool

	// buf holds the row once; AppendSingle and AppendItem splice their
	// bodies out of it without re-encoding anything:
	//
	//	buf:  <single keys><item keys>{<data members>}
	//	      0            itemAt     dataAt          len(buf)
	//
	// single keys  the match members of a single-profile request, beside
	//              "data"; comma-separated, no comma at either end.
	// item keys    the same values under the names a batch element uses;
	//              they open the element.
	// data object  "data" of a single request, braces included. A batch
	//              element holds the same members, minus the cuts.
	// cuts         [start,end) of a data member a batch element must not
	//              carry because an item key of the same name already
	//              holds it (without its comma; AppendItem drops the commas
	//              left over at the edges). At most two: one per key slot.
	//
	// What the regions hold, per matching mode (X = the converted value):
	//
	//	mode            single keys                       item keys                         cut from items
	//	email*          "email":X                          "email":X                          data "email"
	//	phone*          "phone":X                          "phone":X                          data "phone" (rare: the field is "phones")
	//	email_phone*    "email":E,"phone":P (either may    "email":E,"phone":P               data "email", data "phone"
	//	                be absent, not both)
	//	profile_id      "profile_id":X                     "profile_id":X                     data "profile_id"
	//	push_sub        "provider":A,"subscription_id":B   "provider":A,"subscription_id":B   data "provider", "subscription_id"
	//	custom*         "field_value":X                    "CRM_ID":X (field_name's value)    data "CRM_ID"
	//
	// For example, matching custom with field_name CRM_ID:
	//
	//	"field_value":"C-1""CRM_ID":"C-1"{"_fname":"Anna","CRM_ID":"C-1","city":"Omsk"}
	//	^0                 ^itemAt        ^dataAt          ^cuts[0][0]   ^cuts[0][1]
	//
	//	AppendSingle: "field_value":"C-1","data":{"_fname":"Anna","CRM_ID":"C-1","city":"Omsk"}
	//	AppendItem:   {"CRM_ID":"C-1","_fname":"Anna","city":"Omsk"}
	buf    []byte
	itemAt int
	dataAt int
	cuts   [2][2]int
	nCuts  int
}

// requests holds released Requests, their buffers kept, for Map to fill
// again: a run that releases each request once it is done with it maps
// without allocating, which spares the collector about 600 bytes a row.
var requests = sync.Pool{New: func() any { return new(Request) }}

// Release hands r back to be reused by a later Map. Call it once, when
// nothing will read r again: in a dry run after the row's verdict is
// recorded, in a run after the sender is done with every request holding
// it (retries included). r must not be used after it, but r.Key may:
// it never shares r's memory. A request that is never released is simply
// collected.
func (r *Request) Release() {
	buf := r.buf[:0]
	if cap(buf) > maxSizeHint {
		buf = nil // one huge row must not pin its buffer
	}
	*r = Request{buf: buf}
	requests.Put(r)
}

// AppendSingle appends the members of a single-profile request, without
// braces: the top-level match members, then "data":{...}.
func (r *Request) AppendSingle(dst []byte) []byte {
	if r.itemAt > 0 {
		dst = append(dst, r.buf[:r.itemAt]...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"data":`...)
	return append(dst, r.buf[r.dataAt:]...)
}

// AppendItem appends one complete batch element {...}: the match key members
// inside it, then the data members; a data member with a key's name is
// carried once, with the key's value.
func (r *Request) AppendItem(dst []byte) []byte {
	dst = append(dst, '{')
	open := len(dst)
	dst = append(dst, r.buf[r.itemAt:r.dataAt]...)
	pos, end := r.dataAt+1, len(r.buf)-1 // inside the data braces
	piece := func(p []byte) {
		p = bytes.Trim(p, ",")
		if len(p) == 0 {
			return
		}
		if len(dst) > open {
			dst = append(dst, ',')
		}
		dst = append(dst, p...)
	}
	for _, c := range r.cuts[:r.nCuts] {
		piece(r.buf[pos:c[0]])
		pos = c[1]
	}
	piece(r.buf[pos:end])
	return append(dst, '}')
}

// rowState is what Map learns about a row while encoding it.
type rowState struct {
	risky bool
	cuts  [2][2]int
	nCuts int
	errs  RowErrors // stays nil, and costs nothing, for a valid row
}

// addCut records the data member at buf[start:end] as one that batch items
// replace with a key member.
func (st *rowState) addCut(cut bool, start, end int) {
	if cut && st.nCuts < len(st.cuts) {
		st.cuts[st.nCuts] = [2]int{start, end}
		st.nCuts++
	}
}

// envelopeJSON is the request options shared by every call of a run, in
// the order they are sent. The order matters beyond looks: the delta
// state's fingerprints hash these bytes, so a change of order would make
// every key look changed once.
type envelopeJSON struct {
	DBID                     int    `json:"db_id"`
	Matching                 string `json:"matching"`
	FieldName                string `json:"field_name,omitempty"`
	ResourceID               int    `json:"resource_id,omitempty"`
	SkipTriggers             *bool  `json:"skip_triggers,omitempty"`
	SkipInvalidSubscriptions *bool  `json:"skip_invalid_subscriptions,omitempty"`
	DetectGeo                *bool  `json:"detect_geo,omitempty"`
	AddToSegments            []int  `json:"add_to_segments,omitempty"`
	RemoveFromSegments       []int  `json:"remove_from_segments,omitempty"`
}

// envelope encodes the request options shared by every call of a run, as
// JSON members without braces. It runs once per run, so encoding/json.
func envelope(cfg *Config, batch bool) []byte {
	r := &cfg.Request
	e := envelopeJSON{DBID: r.DBID, Matching: r.Matching, ResourceID: max(r.ResourceID, 0),
		SkipTriggers: r.SkipTriggers, SkipInvalidSubscriptions: r.SkipInvalidSubscriptions, DetectGeo: r.DetectGeo}
	if r.Matching == "custom" || r.Matching == "custom_sub" {
		e.FieldName = cfg.Match.FieldName
	}
	if !batch { // the batch endpoints take no segment options
		e.AddToSegments, e.RemoveFromSegments = r.AddToSegments, r.RemoveFromSegments
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the bytes the row encoder writes for the same text
	if err := enc.Encode(e); err != nil {
		panic(fmt.Sprintf("mapping: encode the envelope: %v", err)) // ints, strings and bools always encode
	}
	out := bytes.TrimSpace(b.Bytes())
	return out[1 : len(out)-1]
}

// AppendEnvelope appends the request options shared by every call, as JSON
// members without braces and without the token: `"db_id":1,"matching":"email",...`.
// Batch envelopes leave out the segment options, which the batch endpoints
// do not take.
func (m *Mapper) AppendEnvelope(dst []byte, batch bool) []byte {
	if batch {
		return append(dst, m.envBatch...)
	}
	return append(dst, m.envSingle...)
}
