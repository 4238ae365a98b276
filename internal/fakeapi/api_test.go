package fakeapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

func TestRoutes(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	body := []byte(`{"token":"` + testToken + `","db_id":1,"matching":"email","email":"a@example.com","data":{}}`)
	tests := []struct {
		name, method, path, ctype string
		want                      int
		wantAllow                 string
	}{
		{"Import", http.MethodPost, "/api/v1.1/profiles/import", "application/json", 200, ""},
		{"TrailingSlash", http.MethodPost, "/api/v1.1/profiles/import/", "application/json", 200, ""},
		{"UpdateBatchSlash", http.MethodPost, "/api/v1.1/profiles/update_batch/", "application/json", 200, ""},
		{"GetIs405", http.MethodGet, "/api/v1.1/profiles/update", "", 405, "POST"},
		{"PutIs405", http.MethodPut, "/api/v1.1/profiles/import_batch", "application/json", 405, "POST"},
		{"UnknownMethod", http.MethodPost, "/api/v1.1/profiles/add_many", "application/json", 404, ""},
		{"UnknownPath", http.MethodPost, "/nope", "application/json", 404, ""},
		{"OldVersion", http.MethodPost, "/api/v1.0/profiles/import", "application/json", 404, ""},
		{"DoubleSlash", http.MethodPost, "/api/v1.1/profiles/import//", "application/json", 404, ""},
		{"FakeStatsGet", http.MethodGet, "/fake/stats", "", 200, ""},
		{"FakeStatsPost", http.MethodPost, "/fake/stats", "", 405, "GET"},
		{"FakeResetGet", http.MethodGet, "/fake/reset", "", 405, "POST"},
		{"FakeUnknown", http.MethodGet, "/fake/nope", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.do(tt.method, tt.path, tt.ctype, body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.want {
				t.Fatalf("%s %s = HTTP %d %s, want %d", tt.method, tt.path, r.status, r.raw, tt.want)
			}
			if got := r.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if tt.want != 200 && !strings.HasPrefix(tt.path, "/fake/") && r.Error != tt.want {
				t.Errorf("envelope error = %d, want %d (%s)", r.Error, tt.want, r.raw)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	base := `"db_id":1,"email":"a@example.com","data":{"_fname":"A"}`
	tests := []struct {
		name   string
		body   string
		bearer string
		code   int
		text   string
	}{
		{"BodyToken", `{"token":"` + testToken + `",` + base + `}`, "", 0, "Successful operation"},
		{"BearerToken", `{` + base + `}`, testToken, 0, "Successful operation"},
		{"BearerWinsOverBody", `{"token":"wrong",` + base + `}`, testToken, 0, "Successful operation"},
		{"Missing", `{` + base + `}`, "", 401, "API token required"},
		{"EmptyBodyToken", `{"token":"",` + base + `}`, "", 401, "API token required"},
		{"WrongBody", `{"token":"nope",` + base + `}`, "", 403, "Invalid API token"},
		{"WrongBearer", `{"token":"` + testToken + `",` + base + `}`, "nope", 403, "Invalid API token"},
		{"TokenNotAString", `{"token":12,` + base + `}`, "", 401, "API token required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.bearer != "" {
				hdr["Authorization"] = "Bearer " + tt.bearer
			}
			r := e.raw("import", "application/json", []byte(tt.body), hdr)
			if r.status != 200 || r.Error != tt.code || r.ErrorText != tt.text {
				t.Fatalf("reply = HTTP %d %s, want error %d %q", r.status, r.raw, tt.code, tt.text)
			}
			if bytes.Contains(r.raw, []byte(testToken)) {
				t.Errorf("reply %s contains the token", r.raw)
			}
		})
	}
}

func TestBadBodies(t *testing.T) {
	e := newEnv(t, fakeapi.Options{DBs: []int{1, 2}})
	tests := []struct {
		name, ctype, body string
		code              int
		text              string
	}{
		{"NoContentType", "", `{}`, 400, "Content-Type"},
		{"FormContentType", "application/x-www-form-urlencoded", `{}`, 400, "Content-Type"},
		{"JSONWithCharset", "application/json; charset=utf-8", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{}}`, 0, ""},
		{"NotJSON", "application/json", `{"token":`, 400, "invalid JSON body"},
		{"Empty", "application/json", ``, 400, "empty body"},
		{"Array", "application/json", `[1,2]`, 400, "want an object"},
		{"Trailing", "application/json", `{"token":"x"} {}`, 400, "data after the top-level object"},
		{"NoDB", "application/json", `{"token":"` + testToken + `","data":{}}`, 400, "db_id is required"},
		{"DBString", "application/json", `{"token":"` + testToken + `","db_id":"1","data":{}}`, 400, `db_id "1" is not a positive integer`},
		{"DBZero", "application/json", `{"token":"` + testToken + `","db_id":0,"data":{}}`, 400, "db_id 0 is not a positive integer"},
		{"DBUnknown", "application/json", `{"token":"` + testToken + `","db_id":7,"email":"a@example.com","data":{}}`, 404, "database 7 not found"},
		{"NoData", "application/json", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com"}`, 400, "data is required"},
		{"DataList", "application/json", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":[]}`, 400, "data must be an object"},
		{"UnknownMode", "application/json", `{"token":"` + testToken + `","db_id":1,"matching":"fax","data":{}}`, 400, `unknown matching mode "fax"`},
		{"BadBool", "application/json", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com","skip_triggers":"yes","data":{}}`, 400, `skip_triggers "yes" is not a boolean`},
		{"BadSegments", "application/json", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com","add_to_segments":[1,"x"],"data":{}}`, 400, `add_to_segments[1] "x" is not a positive integer`},
		{"BadResource", "application/json", `{"token":"` + testToken + `","db_id":1,"email":"a@example.com","resource_id":-2,"data":{}}`, 400, "resource_id -2"},
		{"InvalidUTF8InValue", "application/json", "{\"token\":\"" + testToken + "\",\"db_id\":1,\"email\":\"a\xff@example.com\",\"data\":{}}", 400, "invalid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.raw("import", tt.ctype, []byte(tt.body), nil)
			if tt.code == 0 {
				mustOK(t, r)
				return
			}
			wantErr(t, r, tt.code, tt.text)
		})
	}
}

// seedProfile stores the profile every matching test looks for, reachable
// by each mode's key.
func seedProfile(t *testing.T, e *env) string {
	t.Helper()
	return mustOK(t, e.call("import", obj{
		"db_id": 1, "matching": "email", "email": "anna@example.com",
		"data": obj{
			"email":  "anna@example.com",
			"phones": list{"+79001234567"},
			"crm_id": "12345678901234567",
			"subscriptions": list{
				obj{"resource_id": 1, "channel": "email", "email": "anna.sub@example.com"},
				obj{"resource_id": 1, "channel": "sms", "phone": "+79007654321"},
				obj{"resource_id": 1, "channel": "push", "provider": "android-firebase", "subscription_id": "fcm-1",
					"custom_fields": obj{"device": "D-1"}},
			},
		},
	}))
}

func TestMatchingModes(t *testing.T) {
	tests := []struct {
		mode      string
		key       obj    // finds the seeded profile
		elsewhere obj    // is on the profile, but outside this mode's search
		missing   obj    // matches nothing
		create    obj    // data for the import with missing, so the same key finds it again
		field     string // the key as stored on a created profile ("" = a subscription)
		value     any
		needs     string // the key field named when absent
	}{
		{"email", obj{"email": "Anna@Example.com"}, nil, obj{"email": "new@example.com"}, obj{}, "email", "new@example.com", "email"},
		{"email", obj{"email": "anna.sub@example.com"}, nil, obj{"email": "new@example.com"}, obj{}, "email", "new@example.com", "email"},
		{"email_profile", obj{"email": "anna@example.com"}, obj{"email": "anna.sub@example.com"}, obj{"email": "new@example.com"}, obj{}, "email", "new@example.com", "email"},
		{"email_sub", obj{"email": "anna.sub@example.com"}, obj{"email": "anna@example.com"}, obj{"email": "new@example.com"},
			obj{"subscriptions": list{obj{"resource_id": 1, "channel": "email", "email": "new@example.com"}}}, "email", "new@example.com", "email"},
		{"phone", obj{"phone": "+79001234567"}, nil, obj{"phone": "+79990000000"}, obj{}, "phones", list{"+79990000000"}, "phone"},
		{"phone", obj{"phone": "+79007654321"}, nil, obj{"phone": "+79990000000"}, obj{}, "phones", list{"+79990000000"}, "phone"},
		{"phone_sub", obj{"phone": "+79007654321"}, obj{"phone": "+79001234567"}, obj{"phone": "+79990000000"},
			obj{"subscriptions": list{obj{"resource_id": 1, "channel": "sms", "phone": "+79990000000"}}}, "phones", list{"+79990000000"}, "phone"},
		{"push_sub", obj{"provider": "android-firebase", "subscription_id": "fcm-1"}, nil, obj{"provider": "android-firebase", "subscription_id": "fcm-2"}, obj{}, "", nil, "provider and subscription_id"},
		{"custom", obj{"field_name": "crm_id", "field_value": 12345678901234567}, obj{"field_name": "device", "field_value": "D-1"},
			obj{"field_name": "crm_id", "field_value": 99999999999999999}, obj{}, "crm_id", json.Number("99999999999999999"), "field_value"},
		{"custom_sub", obj{"field_name": "device", "field_value": "D-1"}, obj{"field_name": "crm_id", "field_value": "12345678901234567"},
			obj{"field_name": "device", "field_value": "D-2"},
			obj{"subscriptions": list{obj{"resource_id": 1, "channel": "push", "provider": "p", "subscription_id": "s", "custom_fields": obj{"device": "D-2"}}}}, "", nil, "field_value"},
		{"email_phone", obj{"phone": "+79001234567"}, obj{"phone": "+79007654321"}, obj{"email": "new@example.com"}, obj{}, "email", "new@example.com", "email or phone"},
		{"email_phone", obj{"email": "anna@example.com", "phone": "+79001234567"}, obj{"email": "anna.sub@example.com"}, obj{"phone": "+79990000000"}, obj{}, "phones", list{"+79990000000"}, "email or phone"},
		{"email_phone_sub", obj{"email": "anna.sub@example.com"}, obj{"email": "anna@example.com"}, obj{"phone": "+79990000000"},
			obj{"subscriptions": list{obj{"resource_id": 1, "channel": "sms", "phone": "+79990000000"}}}, "phones", list{"+79990000000"}, "email or phone"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.mode, tt.key), func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{})
			id := seedProfile(t, e)
			body := func(key obj, data obj) obj {
				b := obj{"db_id": 1, "matching": tt.mode, "data": data}
				for k, v := range key {
					b[k] = v
				}
				return b
			}
			t.Run("Found", func(t *testing.T) {
				got := mustOK(t, e.call("update", body(tt.key, obj{"_lname": "Found"})))
				if got != id {
					t.Fatalf("update by %v = profile %s, want %s", tt.key, got, id)
				}
				if p := e.profile(id); p.Fields["_lname"] != "Found" {
					t.Errorf("_lname = %v, want Found", p.Fields["_lname"])
				}
			})
			if tt.elsewhere != nil {
				t.Run("NotSearchedElsewhere", func(t *testing.T) {
					wantErr(t, e.call("update", body(tt.elsewhere, obj{})), 404, "Profile not found")
				})
			}
			t.Run("UpdateMissing", func(t *testing.T) {
				wantErr(t, e.call("update", body(tt.missing, obj{})), 404, "Profile not found")
			})
			t.Run("MissingKey", func(t *testing.T) {
				key := obj{}
				if fn, ok := tt.key["field_name"]; ok {
					key["field_name"] = fn
				}
				wantErr(t, e.call("update", body(key, obj{})), 400, "matching "+tt.mode+" requires", tt.needs)
			})
			t.Run("Created", func(t *testing.T) {
				before := len(e.api.Profiles())
				nid := mustOK(t, e.call("import", body(tt.missing, tt.create)))
				if nid == id || len(nid) != 24 {
					t.Fatalf("import of a new key = %q, want a new 24-hex id", nid)
				}
				if n := len(e.api.Profiles()); n != before+1 {
					t.Fatalf("profiles = %d, want %d", n, before+1)
				}
				p := e.profile(nid)
				if tt.field != "" {
					if got := p.Fields[tt.field]; !equalJSON(got, tt.value) {
						t.Errorf("created field %s = %#v, want %#v", tt.field, got, tt.value)
					}
				}
				again := mustOK(t, e.call("import", body(tt.missing, obj{"_fname": "Again"})))
				if again != nid {
					t.Errorf("second import = %s, want the created %s", again, nid)
				}
			})
		})
	}
}

func TestProfileIDMatching(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	id := seedProfile(t, e)
	mustOK(t, e.call("update", obj{"db_id": 1, "matching": "profile_id", "profile_id": id, "data": obj{"_fname": "X"}}))
	if got := e.profile(id).Fields["_fname"]; got != "X" {
		t.Errorf("_fname = %v, want X", got)
	}
	tests := []struct {
		name   string
		method string
		body   obj
		code   int
		text   string
	}{
		{"UpperCaseID", "update", obj{"profile_id": strings.ToUpper(id)}, 0, ""},
		{"OtherDB", "update", obj{"db_id": 2, "profile_id": id}, 404, "Profile not found"},
		{"Missing", "update", obj{"profile_id": "0123456789abcdef01234567"}, 404, "Profile not found"},
		{"Malformed", "update", obj{"profile_id": "xyz"}, 400, `invalid profile_id "xyz"`},
		{"NoKey", "update", obj{}, 400, "requires field profile_id"},
		{"ImportRefused", "import", obj{"profile_id": id}, 400, "only allowed on update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := obj{"db_id": 1, "matching": "profile_id", "data": obj{}}
			for k, v := range tt.body {
				b[k] = v
			}
			r := e.call(tt.method, b)
			if tt.code == 0 {
				if got := mustOK(t, r); got != id {
					t.Errorf("profile_id = %s, want %s", got, id)
				}
				return
			}
			wantErr(t, r, tt.code, tt.text)
		})
	}
}

func TestMatchingRules(t *testing.T) {
	e := newEnv(t, fakeapi.Options{NotFoundCode: 4040})
	a := mustOK(t, e.call("import", obj{"db_id": 1, "email": "a@example.com", "data": obj{
		"subscriptions": list{obj{"resource_id": 1, "channel": "email", "email": "a.sub@example.com"}},
	}}))
	b := mustOK(t, e.call("import", obj{"db_id": 1, "matching": "phone", "phone": "+79001112233", "data": obj{
		"subscriptions": list{obj{"resource_id": 2, "channel": "sms", "phone": "+79001112233"}},
	}}))
	if a == b {
		t.Fatal("two different keys gave one profile")
	}
	t.Run("EmailAndPhoneOnTwoProfiles", func(t *testing.T) {
		wantErr(t, e.call("import", obj{"db_id": 1, "matching": "email_phone", "email": "a@example.com", "phone": "+79001112233", "data": obj{}}),
			409, "more than one profile matches")
	})
	t.Run("ResourceNarrowsEmailSub", func(t *testing.T) {
		wantErr(t, e.call("update", obj{"db_id": 1, "matching": "email_sub", "email": "a.sub@example.com", "resource_id": 2, "data": obj{}}), 4040, "Profile not found")
		if got := mustOK(t, e.call("update", obj{"db_id": 1, "matching": "email_sub", "email": "a.sub@example.com", "resource_id": 1, "data": obj{}})); got != a {
			t.Errorf("email_sub on resource 1 = %s, want %s", got, a)
		}
	})
	t.Run("ResourceNarrowsPhoneSubOnly", func(t *testing.T) {
		// phone also searches profile phones, which resource_id does not narrow.
		if got := mustOK(t, e.call("update", obj{"db_id": 1, "matching": "phone", "phone": "+79001112233", "resource_id": 1, "data": obj{}})); got != b {
			t.Errorf("phone with resource 1 = %s, want %s (profile phones)", got, b)
		}
		wantErr(t, e.call("update", obj{"db_id": 1, "matching": "phone_sub", "phone": "+79001112233", "resource_id": 1, "data": obj{}}), 4040)
	})
	t.Run("DatabasesAreSeparate", func(t *testing.T) {
		wantErr(t, e.call("update", obj{"db_id": 2, "email": "a@example.com", "data": obj{}}), 4040)
		c := mustOK(t, e.call("import", obj{"db_id": 2, "email": "a@example.com", "data": obj{}}))
		if c == a {
			t.Errorf("import into db 2 reused the db 1 profile")
		}
	})
	t.Run("BadKeys", func(t *testing.T) {
		wantErr(t, e.call("import", obj{"db_id": 1, "email": "not-an-email", "data": obj{}}), 400, `invalid email "not-an-email"`)
		wantErr(t, e.call("import", obj{"db_id": 1, "matching": "phone", "phone": "8 (916) 123-45-67", "data": obj{}}), 400, `invalid phone "8 (916) 123-45-67"`)
		wantErr(t, e.call("import", obj{"db_id": 1, "matching": "custom", "field_value": "x", "data": obj{}}), 400, "requires field field_name")
		wantErr(t, e.call("import", obj{"db_id": 1, "matching": "custom", "field_name": "k", "field_value": obj{}, "data": obj{}}), 400, "field field_value an object is not a string or number")
		wantErr(t, e.call("import", obj{"db_id": 1, "email": list{"a@example.com"}, "data": obj{}}), 400, "field email a list is not a string")
	})
	t.Run("CustomIndexFollowsUpdates", func(t *testing.T) {
		key := obj{"db_id": 1, "matching": "custom", "field_name": "crm", "field_value": "C-1"}
		with := func(data obj) obj {
			m := obj{"data": data}
			for k, v := range key {
				m[k] = v
			}
			return m
		}
		wantErr(t, e.call("update", with(obj{})), 4040) // builds the index for crm
		mustOK(t, e.call("update", obj{"db_id": 1, "email": "a@example.com", "data": obj{"crm": "C-1"}}))
		if got := mustOK(t, e.call("update", with(obj{}))); got != a {
			t.Fatalf("custom crm=C-1 = %s, want %s", got, a)
		}
		mustOK(t, e.call("update", obj{"db_id": 1, "email": "a@example.com", "data": obj{"crm": obj{"action": "unset"}}}))
		wantErr(t, e.call("update", with(obj{})), 4040)
	})
}
