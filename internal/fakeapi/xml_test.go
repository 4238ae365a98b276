package fakeapi_test

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/fakeapi"
)

// xmlReply is the XML envelope as a client decodes it.
type xmlReply struct {
	XMLName   xml.Name `xml:"xml"`
	Error     int      `xml:"error"`
	ErrorText string   `xml:"error_text"`
	ProfileID string   `xml:"profile_id"`
	Result    []struct {
		Error     int    `xml:"error"`
		ErrorText string `xml:"error_text"`
		ProfileID string `xml:"profile_id"`
	} `xml:"result>item"`
}

func postXML(t *testing.T, e *env, method, body string) xmlReply {
	t.Helper()
	r := e.raw(method, "application/xml", []byte(body), nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
		t.Fatalf("reply = HTTP %d %q %s, want HTTP 200 XML", r.status, r.header.Get("Content-Type"), r.raw)
	}
	var x xmlReply
	if err := xml.Unmarshal(r.raw, &x); err != nil {
		t.Fatalf("reply %s: %v", r.raw, err)
	}
	return x
}

func TestXMLRoundTrip(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	single := `<?xml version="1.0" encoding="UTF-8"?>
<xml>
  <token>` + testToken + `</token>
  <db_id>1</db_id>
  <matching>email</matching>
  <email>x@example.com</email>
  <skip_triggers>true</skip_triggers>
  <add_to_segments array='true'><item>4</item></add_to_segments>
  <data>
    <_fname>Ivan &amp; Co</_fname>
    <loyalty><action>incr</action><value>7</value></loyalty>
    <phones array='true'><item>+79001234567</item></phones>
    <tags array="true"><tag>a</tag><tag>b</tag></tags>
    <subscriptions array='true'>
      <item><resource_id>2</resource_id><channel>email</channel><email_data><email>x@example.com</email></email_data><status>subscribed</status></item>
    </subscriptions>
  </data>
</xml>`
	x := postXML(t, e, "import", single)
	if x.Error != 0 || x.ErrorText != "Successful operation" || len(x.ProfileID) != 24 {
		t.Fatalf("single reply = %+v", x)
	}
	got := e.profile(x.ProfileID)
	want := fakeapi.Profile{
		ID: x.ProfileID, DBID: 1,
		Fields: map[string]any{
			"email": "x@example.com", "_fname": "Ivan & Co", "loyalty": json.Number("7"),
			"phones": []any{"+79001234567"}, "tags": []any{"a", "b"},
		},
		Subscriptions: []fakeapi.Subscription{{ResourceID: 2, Channel: "email", Email: "x@example.com", Status: "subscribed"}},
		Segments:      []int64{4},
		Writes:        1, IncrApplied: 1, // created with an incr
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored from XML (-want +got):\n%s", diff)
	}

	batch := `<xml><token>` + testToken + `</token><db_id>1</db_id><matching>email</matching>
<data array='true'>
  <item><email>x@example.com</email><loyalty><action>incr</action><value>-2</value></loyalty></item>
  <item><email>bad</email></item>
  <item><email>y@example.com</email></item>
</data></xml>`
	x = postXML(t, e, "import_batch", batch)
	if x.Error != 0 || len(x.Result) != 3 {
		t.Fatalf("batch reply = %+v", x)
	}
	if x.Result[0].ProfileID != want.ID || x.Result[1].Error != 400 || x.Result[2].Error != 0 || x.Result[2].ProfileID == "" {
		t.Errorf("batch results = %+v", x.Result)
	}
	if got := e.profile(want.ID).Fields["loyalty"]; got != json.Number("5") {
		t.Errorf("loyalty after XML incr = %v, want 5", got)
	}
}

// TestXMLSubscriptionsAsOneObject sends a subscription list the way
// Altcraft's documentation writes it: the fields of one subscription
// directly under <subscriptions array='true'>.
func TestXMLSubscriptionsAsOneObject(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	x := postXML(t, e, "import", `<xml><token>`+testToken+`</token><db_id>1</db_id><email>a@example.com</email><data>`+
		`<subscriptions array='true'><resource_id>1</resource_id><channel>email</channel><email>a@example.com</email></subscriptions>`+
		`</data></xml>`)
	if x.Error != 0 {
		t.Fatalf("reply = %+v", x)
	}
	got := e.dump()
	want := []fakeapi.Subscription{{ResourceID: 1, Channel: "email", Email: "a@example.com", Status: "subscribed"}}
	if len(got) != 1 || !cmp.Equal(got[0].Subscriptions, want) {
		t.Errorf("stored %+v, want one profile with %+v", got, want)
	}
}

func TestXMLErrors(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	tests := []struct {
		name, body string
		code       int
		text       string
	}{
		{"WrongRoot", `<request><db_id>1</db_id></request>`, 400, "root element is <request>, want <xml>"},
		{"NotXML", `{"db_id":1}`, 400, "invalid XML body"},
		{"Unclosed", `<xml><db_id>1</db_id>`, 400, "invalid XML body"},
		{"Repeated", `<xml><token>` + testToken + `</token><token>x</token></xml>`, 400, "element <token> repeated inside <xml>"},
		{"TrailingElement", `<xml></xml><xml></xml>`, 400, "after the <xml> root"},
		{"NoToken", `<xml><db_id>1</db_id></xml>`, 401, "API token required"},
		{"BadDB", `<xml><token>` + testToken + `</token><db_id>one</db_id><data/></xml>`, 400, `db_id "one" is not a positive integer`},
		{"PhonesWithoutArray", `<xml><token>` + testToken + `</token><db_id>1</db_id><email>a@example.com</email><data><phones>+79001234567</phones></data></xml>`, 400, "is not a list of phones"},
		{"Deep", `<xml>` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</xml>`, 400, "nested deeper than 64"},
		{"Charset", `<?xml version="1.0" encoding="windows-1251"?><xml></xml>`, 400, "invalid XML body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := postXML(t, e, "import", tt.body)
			if x.Error != tt.code || !strings.Contains(x.ErrorText, tt.text) {
				t.Errorf("reply = %d %q, want %d containing %q", x.Error, x.ErrorText, tt.code, tt.text)
			}
		})
	}
}
