package fakeapi_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/fakeapi"
)

func TestDataValidation(t *testing.T) {
	tests := []struct {
		name string
		data obj
		text string // "" = accepted
	}{
		{"Plain", obj{"_fname": "Анна", "loyalty": 5, "vip": true, "tags": list{"a"}, "meta": obj{"k": "v"}}, ""},
		{"Email", obj{"email": "x@example.co.uk"}, ""},
		{"EmailBad", obj{"email": "Ivan <ivan@example.com>"}, `invalid field email: "Ivan <ivan@example.com>" is not an e-mail address`},
		{"EmailNoDot", obj{"email": "ivan@localhost"}, "invalid field email"},
		{"EmailNumber", obj{"email": 5}, "invalid field email: 5"},
		{"Phones", obj{"phones": list{"+79001234567", "+12025550123"}}, ""},
		{"PhonesString", obj{"phones": "+79001234567"}, `invalid field phones: "+79001234567" is not a list of phones`},
		{"PhonesNational", obj{"phones": list{"+79001234567", "89161234567"}}, `phones[1] "89161234567" is not a phone`},
		{"PhonesShort", obj{"phones": list{"+123456"}}, "is not a phone"},
		{"PhonesLong", obj{"phones": list{"+1234567890123456"}}, "is not a phone"},
		{"BdateISO", obj{"_bdate": "1990-02-22"}, ""},
		{"BdateRFC3339", obj{"_bdate": "1990-02-22T21:00:00Z"}, ""},
		{"BdateNoSeconds", obj{"_bdate": "2001-12-31T00:00+03:00"}, ""},
		{"BdateRussian", obj{"_bdate": "22.02.1990"}, `invalid field _bdate: "22.02.1990" is not a date (want YYYY-MM-DD or RFC 3339)`},
		{"RegdateBad", obj{"_regdate": "2023-13-01"}, "invalid field _regdate"},
		{"OtherDateField", obj{"_open_date": "yesterday"}, "invalid field _open_date"},
		{"CustomDateNameIsFree", obj{"update": "yesterday"}, ""},
		{"SexWord", obj{"_sex": "female"}, ""},
		{"SexNumber", obj{"_sex": 1}, ""},
		{"SexBad", obj{"_sex": "F"}, `invalid field _sex: "F" (want male, female, 0, 1 or 2)`},
		{"SexBool", obj{"_sex": true}, "invalid field _sex: true"},
		{"ErrorIsDeterministic", obj{"_bdate": "x", "email": "y", "_sex": "z"}, "invalid field _bdate"},
	}
	e := newEnv(t, fakeapi.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("import", obj{"db_id": 1, "matching": "custom", "field_name": "case", "field_value": tt.name, "data": tt.data})
			if tt.text == "" {
				mustOK(t, r)
				return
			}
			wantErr(t, r, 400, tt.text)
		})
	}
	for _, p := range e.api.Profiles() {
		if p.Fields["case"] == "EmailBad" || p.Fields["case"] == "SexBad" {
			t.Errorf("a rejected item was stored: %+v", p)
		}
	}
}

func TestFunctionalUpdates(t *testing.T) {
	initial := obj{
		"loyalty": 10, "score": 1.5, "big": 9007199254740993, "tags": list{"a", "b"},
		"name": "N", "meta": obj{"a": 1, "nested": obj{"x": 1}},
		"orders": list{obj{"id": "o1", "sum": 1}, obj{"id": "o2", "sum": 2}},
		"phones": list{"+79001234567"},
	}
	tests := []struct {
		name  string
		data  obj
		field string
		want  any // JSON text of the stored value; "" = removed
		text  string
	}{
		{"IncrInt", obj{"loyalty": obj{"action": "incr", "value": 5}}, "loyalty", `15`, ""},
		{"Decr", obj{"loyalty": obj{"action": "incr", "value": -11}}, "loyalty", `-1`, ""},
		{"IncrFloat", obj{"score": obj{"action": "incr", "value": 0.25}}, "score", `1.75`, ""},
		{"IncrExactBig", obj{"big": obj{"action": "incr", "value": 1}}, "big", `9007199254740994`, ""},
		{"IncrAbsent", obj{"visits": obj{"action": "incr", "value": 1}}, "visits", `1`, ""},
		{"IncrString", obj{"name": obj{"action": "incr", "value": 1}}, "", nil, `field name: cannot incr, stored value "N" is not a number`},
		{"IncrNotNumber", obj{"loyalty": obj{"action": "incr", "value": "5"}}, "", nil, `field loyalty: action incr needs a number, got "5"`},
		{"AddTags", obj{"tags": obj{"action": "add", "value": list{"b", "c"}}}, "tags", `["a","b","c"]`, ""},
		{"DeleteTags", obj{"tags": obj{"action": "delete", "value": list{"a", "zz"}}}, "tags", `["b"]`, ""},
		{"AddToAbsent", obj{"labels": obj{"action": "add", "value": list{"x"}}}, "labels", `["x"]`, ""},
		{"AddToString", obj{"name": obj{"action": "add", "value": list{"x"}}}, "", nil, "field name: cannot add, stored value"},
		{"AddNotList", obj{"tags": obj{"action": "add", "value": "x"}}, "", nil, "action add needs a list of strings"},
		{"AddPhone", obj{"phones": obj{"action": "add", "value": list{"+79001234568"}}}, "phones", `["+79001234567","+79001234568"]`, ""},
		{"AddBadPhone", obj{"phones": obj{"action": "add", "value": list{"123"}}}, "", nil, `invalid phone "123" in field phones`},
		{"Unset", obj{"name": obj{"action": "unset"}}, "name", "", ""},
		{"UnsetEmail", obj{"email": obj{"action": "unset"}}, "", nil, "field email cannot be unset"},
		{"IncrEmail", obj{"email": obj{"action": "incr", "value": 1}}, "", nil, "field email: action incr is not allowed"},
		{"SetExplicit", obj{"name": obj{"action": "set", "value": "M"}}, "name", `"M"`, ""},
		{"SetValidated", obj{"_bdate": obj{"action": "set", "value": "1.1.1990"}}, "", nil, "invalid field _bdate"},
		{"SetNoValue", obj{"name": obj{"action": "set"}}, "", nil, "action set needs a value"},
		{"UnknownAction", obj{"name": obj{"action": "append", "value": 1}}, "", nil, `field name: unknown action "append"`},
		{"PlainObjectIsSet", obj{"meta": obj{"b": 2}}, "meta", `{"b":2}`, ""},
		{"UpsertMerge", obj{"meta": obj{"action": "upsert", "value": obj{"b": 2}}}, "meta", `{"a":1,"b":2,"nested":{"x":1}}`, ""},
		{"UpsertPath", obj{"meta": obj{"action": "upsert", "value": obj{"y": 2}, "submatch": "nested.deep"}}, "meta", `{"a":1,"nested":{"deep":{"y":2},"x":1}}`, ""},
		{"UpsertArrObjectMatch", obj{"orders": obj{"action": "upsert", "value": obj{"id": "o2", "sum": 5}, "submatch": "id"}}, "orders", `[{"id":"o1","sum":1},{"id":"o2","sum":5}]`, ""},
		{"UpsertArrObjectNew", obj{"orders": obj{"action": "upsert", "value": obj{"id": "o3"}, "submatch": "id"}}, "orders", `[{"id":"o1","sum":1},{"id":"o2","sum":2},{"id":"o3"}]`, ""},
		{"UpsertArrObjectNoSubmatch", obj{"orders": obj{"action": "upsert", "value": obj{"id": "o3"}}}, "", nil, "needs submatch"},
		{"UpsertOnString", obj{"name": obj{"action": "upsert", "value": obj{"a": 1}}}, "", nil, "stored value \"N\" is not an object"},
		{"FailingOpStoresNothing", obj{"name": "changed", "loyalty": obj{"action": "add", "value": list{"x"}}}, "name", `"N"`, "field loyalty: cannot add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{})
			data := obj{}
			for k, v := range initial {
				data[k] = v
			}
			id := mustOK(t, e.call("import", obj{"db_id": 1, "email": "f@example.com", "data": data}))
			r := e.call("update", obj{"db_id": 1, "email": "f@example.com", "data": tt.data})
			if tt.text != "" {
				wantErr(t, r, 400, tt.text)
			} else {
				mustOK(t, r)
			}
			if tt.field == "" {
				return
			}
			got, ok := e.profile(id).Fields[tt.field]
			if tt.want == "" {
				if ok {
					t.Errorf("field %s = %v, want it removed", tt.field, got)
				}
				return
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("field %s = %s, want %s", tt.field, b, tt.want)
			}
		})
	}
}

func TestSubscriptions(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	id := mustOK(t, e.call("import", obj{"db_id": 1, "email": "s@example.com", "data": obj{"subscriptions": list{
		obj{"resource_id": 1, "channel": "email", "email": "S@example.com", "priority": 2, "custom_fields": obj{"a": 1}, "cats": list{"news"}},
		obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "status": "unsubscribed"},
		obj{"resource_id": 2, "channel": "push", "provider": "android-firebase", "subscription_id": "fcm-1"},
		obj{"resource_id": 3, "channel": "telegram_bot", "cc_data": obj{"id": 42}},
		obj{"resource_id": 3, "channel": "whatsapp", "cc_data": obj{"phone": "+79001234567"}},
		obj{"resource_id": 3, "channel": "viber", "cc_data": obj{"phone": "+79001234567"}},
		obj{"resource_id": 3, "channel": "notify", "cc_data": obj{"phone": "+79001234567"}, "status": 0},
	}}}))
	// The same (resource, channel, address) again updates in place.
	mustOK(t, e.call("update", obj{"db_id": 1, "email": "s@example.com", "data": obj{"subscriptions": list{
		obj{"resource_id": 1, "channel": "email", "email_data": obj{"email": "s@example.com"}, "status": "suspended", "priority": -1,
			"custom_fields": obj{"b": 2}, "cats": list{"promo"}},
		obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "status": -1, "priority": 0},
		obj{"resource_id": 2, "channel": "email", "email": "s@example.com"},
	}}}))
	p := e.profile(id)
	two, zero := int64(2), int64(0)
	want := []fakeapi.Subscription{
		{ResourceID: 1, Channel: "email", Email: "s@example.com", Status: "suspended", Priority: &two,
			CustomFields: map[string]any{"a": json.Number("1"), "b": json.Number("2")}, Cats: []string{"promo"}},
		{ResourceID: 1, Channel: "sms", Phone: "+79001234567", Status: "unsubscribed", Priority: &zero},
		{ResourceID: 2, Channel: "push", Provider: "android-firebase", SubscriptionID: "fcm-1", Status: "subscribed"},
		{ResourceID: 3, Channel: "telegram_bot", CCData: map[string]any{"id": json.Number("42")}, Status: "subscribed"},
		{ResourceID: 3, Channel: "whatsapp", CCData: map[string]any{"phone": "+79001234567"}, Status: "subscribed"},
		{ResourceID: 3, Channel: "viber", CCData: map[string]any{"phone": "+79001234567"}, Status: "subscribed"},
		{ResourceID: 3, Channel: "notify", CCData: map[string]any{"phone": "+79001234567"}, Status: "0"},
		{ResourceID: 2, Channel: "email", Email: "s@example.com", Status: "subscribed"},
	}
	if diff := cmp.Diff(want, p.Subscriptions); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	// Stored subscriptions are found by the *_sub modes.
	for _, key := range []obj{
		{"matching": "email_sub", "email": "S@EXAMPLE.COM", "resource_id": 2},
		{"matching": "phone_sub", "phone": "+79001234567", "resource_id": 1},
		{"matching": "push_sub", "provider": "android-firebase", "subscription_id": "fcm-1"},
		{"matching": "custom_sub", "field_name": "b", "field_value": 2},
	} {
		key["db_id"], key["data"] = 1, obj{}
		if got := mustOK(t, e.call("update", key)); got != id {
			t.Errorf("update %v = %s, want %s", key, got, id)
		}
	}
}

func TestInvalidSubscriptions(t *testing.T) {
	good := obj{"resource_id": 1, "channel": "email", "email": "ok@example.com"}
	tests := []struct {
		name string
		sub  any
		text string
	}{
		{"NotList", "x", `subscriptions must be a list, got "x"`},
		{"NotObject", list{good, 5}, "invalid subscriptions[1]: 5 is not an object"},
		{"NoResource", list{obj{"channel": "email", "email": "a@example.com"}}, "invalid subscriptions[0]: resource_id is required"},
		{"BadResource", list{obj{"resource_id": "1", "channel": "email", "email": "a@example.com"}}, `resource_id "1" is not a positive integer`},
		{"NoChannel", list{obj{"resource_id": 1}}, "channel is required"},
		{"BadChannel", list{obj{"resource_id": 1, "channel": "fax"}}, `channel "fax" is not one of email, sms, push, telegram_bot, whatsapp, viber, notify`},
		{"EmailMissing", list{obj{"resource_id": 1, "channel": "email"}}, "channel email needs email or email_data.email"},
		{"EmailBad", list{obj{"resource_id": 1, "channel": "email", "email": "nope"}}, `email "nope" is not an e-mail address`},
		{"SMSBad", list{obj{"resource_id": 1, "channel": "sms", "phone": "8916"}}, `phone "8916" is not a phone`},
		{"PushHalf", list{obj{"resource_id": 1, "channel": "push", "provider": "x"}}, "channel push needs provider and subscription_id"},
		{"TelegramNoID", list{obj{"resource_id": 1, "channel": "telegram_bot", "cc_data": obj{}}}, "channel telegram_bot needs cc_data.id"},
		{"ViberBadPhone", list{obj{"resource_id": 1, "channel": "viber", "cc_data": obj{"phone": "x"}}}, `cc_data.phone "x" is not a phone`},
		{"BadStatus", list{obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "status": "active"}}, `status "active" is not subscribed`},
		{"BadPriority", list{obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "priority": 1.5}}, "priority 1.5 is not an integer"},
		{"BadCustomFields", list{obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "custom_fields": list{}}}, "custom_fields a list is not an object"},
		{"BadCats", list{obj{"resource_id": 1, "channel": "sms", "phone": "+79001234567", "cats": list{1}}}, "cats a list is not a list of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{})
			body := obj{"db_id": 1, "email": "a@example.com", "data": obj{"_fname": "A", "subscriptions": tt.sub}}
			wantErr(t, e.call("import", body), 400, tt.text)
			if n := len(e.api.Profiles()); n != 0 {
				t.Fatalf("a failed item stored %d profiles", n)
			}
			if tt.name == "NotList" {
				return // skipping applies to entries, not to a malformed list
			}
			body = obj{"db_id": 1, "email": "a@example.com", "skip_invalid_subscriptions": true,
				"data": obj{"_fname": "A", "subscriptions": append(list{good}, tt.sub.(list)...)}}
			id := mustOK(t, e.call("import", body))
			p := e.profile(id)
			if len(p.Subscriptions) != 1 || p.Subscriptions[0].Email != "ok@example.com" || p.Fields["_fname"] != "A" {
				t.Errorf("with skip_invalid_subscriptions stored %+v, want only the good subscription", p)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	id := mustOK(t, e.call("import", obj{"db_id": 1, "email": "g@example.com", "add_to_segments": list{5, 1, 3}, "data": obj{}}))
	mustOK(t, e.call("update", obj{"db_id": 1, "email": "g@example.com", "add_to_segments": list{2}, "remove_from_segments": list{3, 9}, "detect_geo": false, "data": obj{}}))
	if got := e.profile(id).Segments; !cmp.Equal(got, []int64{1, 2, 5}) {
		t.Errorf("segments = %v, want [1 2 5]", got)
	}
}
