package fakeapi

import (
	"strings"
)

// endpoint is one of the four profile methods; epOther counts everything
// else that reached the API prefix (unknown paths, wrong methods).
type endpoint uint8

const (
	epImport endpoint = iota
	epUpdate
	epImportBatch
	epUpdateBatch
	epOther
	numEndpoints
)

var endpointNames = [numEndpoints]string{"import", "update", "import_batch", "update_batch", "other"}

// creates reports whether the endpoint adds a profile when nothing matches.
func (e endpoint) creates() bool { return e == epImport || e == epImportBatch }

func (e endpoint) batch() bool { return e == epImportBatch || e == epUpdateBatch }

// mode is a matching mode (docs/API.md, "Matching").
type mode uint8

const (
	mEmail mode = iota
	mEmailProfile
	mEmailSub
	mPhone
	mPhoneSub
	mProfileID
	mPushSub
	mCustom
	mCustomSub
	mEmailPhone
	mEmailPhoneSub
	numModes
)

var modeNames = [numModes]string{
	"email", "email_profile", "email_sub", "phone", "phone_sub", "profile_id",
	"push_sub", "custom", "custom_sub", "email_phone", "email_phone_sub",
}

func (m mode) String() string { return modeNames[m] }

func parseMode(s string) (mode, bool) {
	for i, n := range modeNames {
		if n == s {
			return mode(i), true
		}
	}
	return 0, false
}

func (m mode) usesEmail() bool {
	return m == mEmail || m == mEmailProfile || m == mEmailSub || m == mEmailPhone || m == mEmailPhoneSub
}

func (m mode) usesPhone() bool {
	return m == mPhone || m == mPhoneSub || m == mEmailPhone || m == mEmailPhoneSub
}

// call holds the validated top-level options of one request.
type call struct {
	ep              endpoint
	xml             bool
	dbID            int64
	mode            mode
	resourceID      int64  // 0: not given
	fieldName       string // custom, custom_sub
	skipInvalidSubs bool
	addSegments     []int64
	removeSegments  []int64
}

// matchKey is the search key of one profile; empty strings are absent keys.
type matchKey struct {
	email          string
	phone          string
	profileID      string
	provider       string
	subscriptionID string
	value          string // custom, custom_sub: the field value as text
	raw            any    // custom: the value as sent, stored on create
}

// item is one profile operation, validated and ready for the store.
type item struct {
	key  matchKey
	ops  []fieldOp
	subs []subOp
}

// parseCall validates the top-level options shared by single and batch calls.
func (s *Server) parseCall(top map[string]any, ep endpoint, isXML bool) (*call, *apiError) {
	c := &call{ep: ep, xml: isXML}
	v, ok := top["db_id"]
	if !ok {
		return nil, badRequest("db_id is required")
	}
	id, ok := asInt(v, isXML)
	if !ok || id <= 0 {
		return nil, badRequest("db_id %s is not a positive integer", describe(v))
	}
	if len(s.dbs) > 0 && !s.dbs[id] {
		return nil, &apiError{code: 404, text: "database " + itoa(id) + " not found"}
	}
	c.dbID = id
	if v, ok := top["matching"]; ok {
		name, _ := v.(string)
		m, ok := parseMode(name)
		if !ok {
			return nil, badRequest("unknown matching mode %s (want one of %s)", describe(v), strings.Join(modeNames[:], ", "))
		}
		c.mode = m
	}
	if c.mode == mProfileID && ep.creates() {
		return nil, badRequest("matching profile_id is only allowed on update")
	}
	if v, ok := top["resource_id"]; ok {
		n, ok := asInt(v, isXML)
		if !ok || n <= 0 {
			return nil, badRequest("resource_id %s is not a positive integer", describe(v))
		}
		c.resourceID = n
	}
	for _, name := range [...]string{"skip_triggers", "detect_geo", "skip_invalid_subscriptions"} {
		v, ok := top[name]
		if !ok {
			continue
		}
		b, ok := asBool(v, isXML)
		if !ok {
			return nil, badRequest("%s %s is not a boolean", name, describe(v))
		}
		if name == "skip_invalid_subscriptions" {
			c.skipInvalidSubs = b
		}
	}
	var err *apiError
	if c.addSegments, err = segmentList(top, "add_to_segments", isXML); err != nil {
		return nil, err
	}
	if c.removeSegments, err = segmentList(top, "remove_from_segments", isXML); err != nil {
		return nil, err
	}
	if c.mode == mCustom || c.mode == mCustomSub {
		v, ok := top["field_name"]
		if !ok {
			return nil, badRequest("matching %s requires field field_name", c.mode)
		}
		name, _ := v.(string)
		if name == "" {
			return nil, badRequest("field_name %s is not a field name", describe(v))
		}
		c.fieldName = name
	}
	return c, nil
}

func segmentList(top map[string]any, name string, isXML bool) ([]int64, *apiError) {
	v, ok := top[name]
	if !ok {
		return nil, nil
	}
	if isXML {
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, nil // <add_to_segments array='true'/> parses as an empty list; a bare empty element too
		}
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badRequest("%s must be a list of segment ids, got %s", name, describe(v))
	}
	out := make([]int64, 0, len(l))
	for i, e := range l {
		n, ok := asInt(e, isXML)
		if !ok || n <= 0 {
			return nil, badRequest("%s[%d] %s is not a positive integer", name, i, describe(e))
		}
		out = append(out, n)
	}
	return out, nil
}

// extractKey reads the matching key of one profile. In a single call src is
// the request body; in a batch it is the item, where phone may also be the
// first element of phones and the custom value sits under field_name.
func extractKey(src map[string]any, c *call, inBatch bool) (matchKey, *apiError) {
	var k matchKey
	var err *apiError
	if c.mode.usesEmail() {
		if k.email, err = keyText(src, "email", c.mode); err != nil {
			return k, err
		}
		if k.email != "" && !validEmail(k.email) {
			return k, badRequest("invalid email %s: not an e-mail address", describe(k.email))
		}
	}
	if c.mode.usesPhone() {
		if k.phone, err = keyText(src, "phone", c.mode); err != nil {
			return k, err
		}
		if k.phone == "" && inBatch {
			if l, ok := src["phones"].([]any); ok && len(l) > 0 {
				k.phone, _ = l[0].(string)
			}
		}
		if k.phone != "" && !validPhone(k.phone) {
			return k, badRequest("invalid phone %s: want + and 7 to 15 digits", describe(k.phone))
		}
	}
	switch c.mode {
	case mEmail, mEmailProfile, mEmailSub:
		if k.email == "" {
			return k, badRequest("matching %s requires field email", c.mode)
		}
	case mPhone, mPhoneSub:
		if k.phone == "" {
			if inBatch {
				return k, badRequest("matching %s requires field phone or phones", c.mode)
			}
			return k, badRequest("matching %s requires field phone", c.mode)
		}
	case mEmailPhone, mEmailPhoneSub:
		if k.email == "" && k.phone == "" {
			return k, badRequest("matching %s requires field email or phone", c.mode)
		}
	case mProfileID:
		if k.profileID, err = keyText(src, "profile_id", c.mode); err != nil {
			return k, err
		}
		if k.profileID == "" {
			return k, badRequest("matching profile_id requires field profile_id")
		}
		if !validProfileID(k.profileID) {
			return k, badRequest("invalid profile_id %s: want 24 hex digits", describe(k.profileID))
		}
		k.profileID = strings.ToLower(k.profileID)
	case mPushSub:
		if k.provider, err = keyText(src, "provider", c.mode); err != nil {
			return k, err
		}
		if k.subscriptionID, err = keyText(src, "subscription_id", c.mode); err != nil {
			return k, err
		}
		if k.provider == "" || k.subscriptionID == "" {
			return k, badRequest("matching push_sub requires fields provider and subscription_id")
		}
	case mCustom, mCustomSub:
		name := "field_value"
		if inBatch {
			name = c.fieldName
		}
		v, ok := src[name]
		if !ok {
			return k, badRequest("matching %s requires field %s", c.mode, name)
		}
		t, ok := scalarText(v)
		if !ok || t == "" {
			return k, badRequest("matching %s: field %s %s is not a string or number", c.mode, name, describe(v))
		}
		k.value, k.raw = t, v
	}
	return k, nil
}

// keyText reads an optional key field that must be a string or number when present.
func keyText(src map[string]any, name string, m mode) (string, *apiError) {
	v, ok := src[name]
	if !ok {
		return "", nil
	}
	t, ok := scalarText(v)
	if !ok {
		return "", badRequest("matching %s: field %s %s is not a string", m, name, describe(v))
	}
	return strings.TrimSpace(t), nil
}

// keyOnly reports whether a batch item's field only carries the matching key
// and so is not stored: profile fields (email, phones, the custom field) are.
func keyOnly(name string, c *call) bool {
	switch name {
	case "phone":
		return c.mode.usesPhone()
	case "profile_id":
		return c.mode == mProfileID
	case "provider", "subscription_id":
		return c.mode == mPushSub
	}
	return c.mode == mCustomSub && name == c.fieldName
}

// prepareItem validates a profile's data into field operations and
// subscription upserts. Nothing is stored on error.
func prepareItem(data map[string]any, c *call, inBatch bool, it *item) *apiError {
	it.ops = make([]fieldOp, 0, len(data))
	// Map order is random; report the error of the smallest field name so
	// the same request always gets the same reply.
	var firstErr *apiError
	var firstName string
	fail := func(name string, err *apiError) {
		if firstErr == nil || name < firstName {
			firstErr, firstName = err, name
		}
	}
	for name, v := range data {
		if inBatch && keyOnly(name, c) {
			continue
		}
		if name == "subscriptions" {
			subs, err := prepareSubs(v, c)
			if err != nil {
				fail(name, err)
				continue
			}
			it.subs = subs
			continue
		}
		op, err := parseFieldOp(name, v, c.xml)
		if err != nil {
			fail(name, err)
			continue
		}
		it.ops = append(it.ops, op)
	}
	return firstErr
}
