package fakeapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

// TestBatchReplyShapes: every shape applies the good items and fails the
// bad one alike; only the reply's bytes differ, exactly as documented.
func TestBatchReplyShapes(t *testing.T) {
	const (
		okA     = `{"error":0,"error_text":"Successful operation","profile_id":"{A}"}`
		okC     = `{"error":0,"error_text":"Successful operation","profile_id":"{C}"}`
		badJSON = `{"error":400,"error_text":"invalid email \"bad\": not an e-mail address"}`
		head    = `{"error":0,"error_text":"Successful operation"`
		okXMLA  = `<item><error>0</error><error_text>Successful operation</error_text><profile_id>{A}</profile_id></item>`
		okXMLC  = `<item><error>0</error><error_text>Successful operation</error_text><profile_id>{C}</profile_id></item>`
		badXML  = `<item><error>400</error><error_text>invalid email &#34;bad&#34;: not an e-mail address</error_text></item>`
		headXML = `<xml><error>0</error><error_text>Successful operation</error_text>`
	)
	tests := []struct {
		name  string
		shape fakeapi.BatchReply
		xml   bool
		want  string // {A} and {C} are the two stored profiles' ids
	}{
		{"Ordered", fakeapi.BatchOrdered, false, head + `,"result":[` + okA + "," + badJSON + "," + okC + "]}\n"},
		{"ErrorsOnly", fakeapi.BatchErrorsOnly, false, head + `,"result":[` + badJSON + "]}\n"},
		{"Bare", fakeapi.BatchBare, false, head + "}\n"},
		{"OrderedXML", fakeapi.BatchOrdered, true, headXML + `<result array='true'>` + okXMLA + badXML + okXMLC + "</result></xml>\n"},
		{"ErrorsOnlyXML", fakeapi.BatchErrorsOnly, true, headXML + `<result array='true'>` + badXML + "</result></xml>\n"},
		{"BareXML", fakeapi.BatchBare, true, headXML + "</xml>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{BatchReply: tt.shape})
			var r reply
			if tt.xml {
				r = e.raw("import_batch", "application/xml", []byte(`<xml><token>`+testToken+`</token><db_id>1</db_id><data array='true'>`+
					`<item><email>a@example.com</email><n><action>incr</action><value>2</value></n></item>`+
					`<item><email>bad</email></item>`+
					`<item><email>c@example.com</email></item></data></xml>`), nil)
			} else {
				r = e.call("import_batch", obj{"db_id": 1, "data": list{
					obj{"email": "a@example.com", "n": obj{"action": "incr", "value": 2}},
					obj{"email": "bad"},
					obj{"email": "c@example.com"},
				}})
			}
			ps := e.dump()
			if len(ps) != 2 {
				t.Fatalf("stored %d profiles, want 2 (items 0 and 2)", len(ps))
			}
			a, c := byEmail(ps)["a@example.com"], byEmail(ps)["c@example.com"]
			if a.Fields["n"] != json.Number("2") || a.Writes != 1 || a.IncrApplied != 1 || c.Writes != 1 || c.IncrApplied != 0 {
				t.Errorf("stored a = %+v, c = %+v, want each written once, a's incr applied once", a, c)
			}
			if want := strings.NewReplacer("{A}", a.ID, "{C}", c.ID).Replace(tt.want); r.status != 200 || string(r.raw) != want {
				t.Errorf("reply = HTTP %d\n%s\nwant HTTP 200\n%s", r.status, r.raw, want)
			}
		})
	}
	t.Run("ErrorsOnlyAllGood", func(t *testing.T) {
		e := newEnv(t, fakeapi.Options{BatchReply: fakeapi.BatchErrorsOnly})
		r := e.call("update_batch", obj{"db_id": 1, "data": list{}})
		if string(r.raw) != head+`,"result":[]}`+"\n" {
			t.Errorf("reply = %s, want an empty result list", r.raw)
		}
	})
	t.Run("RequestErrorKeepsEnvelope", func(t *testing.T) {
		e := newEnv(t, fakeapi.Options{BatchReply: fakeapi.BatchBare})
		r := e.call("import_batch", obj{"db_id": 1, "data": obj{}})
		if want := `{"error":400,"error_text":"data must be a list of profiles, got an object"}` + "\n"; string(r.raw) != want {
			t.Errorf("reply = %s, want %s", r.raw, want)
		}
	})
}

func TestBatchReplyText(t *testing.T) {
	for _, b := range []fakeapi.BatchReply{fakeapi.BatchOrdered, fakeapi.BatchErrorsOnly, fakeapi.BatchBare} {
		text, err := b.MarshalText()
		var back fakeapi.BatchReply
		if err != nil || back.UnmarshalText(text) != nil || back != b || string(text) != b.String() {
			t.Errorf("%v: MarshalText = %q, %v; round trip = %v", b, text, err, back)
		}
	}
	var b fakeapi.BatchReply
	if err := b.UnmarshalText([]byte("Ordered")); err == nil || err.Error() != `unknown batch reply shape "Ordered" (want ordered, errors-only, bare)` {
		t.Errorf("UnmarshalText(Ordered) = %v", err)
	}
	if _, err := fakeapi.BatchReply(9).MarshalText(); err == nil {
		t.Error("MarshalText of an undeclared shape succeeded")
	}
}
