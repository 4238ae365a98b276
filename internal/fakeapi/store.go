package fakeapi

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// store is the in-memory profile database. One mutex guards it; requests
// validate outside the lock and hold it only to match and apply one item.
type store struct {
	mu  sync.Mutex
	seq uint64 // profiles created so far: the source of ids
	// writes counts the writes applied, incrWrites those carrying an incr,
	// incrTwice the profiles that had more than one of those.
	writes, incrWrites, incrTwice int64
	all                           []*profile // creation order
	byID                          map[string]*profile
	dbs                           map[int64]*database
}

// database holds the profiles of one db_id and the indexes that make every
// matching mode a map lookup.
type database struct {
	profiles []*profile
	emails   map[string][]*profile   // lower-cased profile email
	phones   map[string][]*profile   // each of the profile's phones
	subs     map[chanAddr][]*profile // subscription address, any resource
	// fields and subFields index scalar profile fields and subscription
	// custom_fields by (name, text of value). Each name is indexed on its
	// first use by custom/custom_sub matching and kept up to date from then on.
	fields    map[string]map[string][]*profile
	subFields map[string]map[string][]*profile
}

type chanAddr struct {
	channel string
	addr    string
}

type profile struct {
	id       string
	db       int64
	fields   map[string]any
	subs     []*subscription
	segments []int64
	writes   int64 // writes applied to the profile
	incr     int64 // those that carried an incr
}

type subscription struct {
	Subscription
	addr string
}

func newStore() *store {
	return &store{byID: map[string]*profile{}, dbs: map[int64]*database{}}
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq = 0
	s.writes, s.incrWrites, s.incrTwice = 0, 0, 0
	s.all = nil
	s.byID = map[string]*profile{}
	s.dbs = map[int64]*database{}
}

func (s *store) db(id int64) *database {
	d := s.dbs[id]
	if d == nil {
		d = &database{
			emails:    map[string][]*profile{},
			phones:    map[string][]*profile{},
			subs:      map[chanAddr][]*profile{},
			fields:    map[string]map[string][]*profile{},
			subFields: map[string]map[string][]*profile{},
		}
		s.dbs[id] = d
	}
	return d
}

// newID derives a Mongo-style id from the creation sequence number, so the
// same store state and request order always give the same ids: 16 hex
// digits of a bit mix (ids look random) and 8 of the sequence (ids are unique).
func newID(seq uint64) string {
	z := seq + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	var b [24]byte
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = hex[z&0xf]
		z >>= 4
	}
	n := uint32(seq)
	for i := 23; i >= 16; i-- {
		b[i] = hex[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// apply matches one item and applies it: it updates the match, creates a
// profile when nothing matches and the call creates, and otherwise reports
// notFound. On error nothing is changed.
func (s *store) apply(c *call, it *item, notFound *apiError) (string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.db(c.dbID)
	p, err := s.find(d, c, &it.key)
	if err != nil {
		return "", err
	}
	if p == nil && !c.ep.creates() {
		return "", notFound
	}
	ops, subs := it.ops, it.subs
	if p == nil {
		ops, subs = seedKey(c, it)
	}
	// Compute every new value first, so a bad incr or add fails the item
	// before anything is stored.
	type change struct {
		name  string
		val   any
		unset bool
	}
	var buf [16]change
	changes := buf[:0]
	for i := range ops {
		op := &ops[i]
		var old any
		had := false
		if p != nil {
			old, had = p.fields[op.name]
		}
		val, unset, err := op.apply(old, had)
		if err != nil {
			return "", err
		}
		changes = append(changes, change{op.name, val, unset})
	}
	if p == nil {
		s.seq++
		p = &profile{id: newID(s.seq), db: c.dbID, fields: make(map[string]any, len(changes))}
		s.all = append(s.all, p)
		s.byID[p.id] = p
		d.profiles = append(d.profiles, p)
	}
	for _, ch := range changes {
		d.setField(p, ch.name, ch.val, ch.unset)
	}
	if len(subs) > 0 {
		d.upsertSubs(p, subs)
	}
	for _, id := range c.addSegments {
		if i, found := slices.BinarySearch(p.segments, id); !found {
			p.segments = slices.Insert(p.segments, i, id)
		}
	}
	for _, id := range c.removeSegments {
		if i, found := slices.BinarySearch(p.segments, id); found {
			p.segments = slices.Delete(p.segments, i, i+1)
		}
	}
	s.countWrite(p, ops)
	return p.id, nil
}

// countWrite records one applied write, so a write applied twice shows.
func (s *store) countWrite(p *profile, ops []fieldOp) {
	p.writes++
	s.writes++
	if !slices.ContainsFunc(ops, func(op fieldOp) bool { return op.act == aIncr }) {
		return
	}
	p.incr++
	s.incrWrites++
	if p.incr == 2 {
		s.incrTwice++
	}
}

// seedKey adds the matching key to a profile about to be created: email →
// email, phone → phones, custom → the field, push_sub → a push subscription
// (on resource_id, or 0 when the call names none). Data sent for the same
// field wins over the key.
func seedKey(c *call, it *item) ([]fieldOp, []subOp) {
	ops, subs := it.ops, it.subs
	has := func(name string) bool {
		for i := range ops {
			if ops[i].name == name {
				return true
			}
		}
		return false
	}
	k := &it.key
	var extra []fieldOp
	if k.email != "" && !has("email") {
		extra = append(extra, fieldOp{name: "email", act: aSet, value: k.email})
	}
	if k.phone != "" && !has("phones") {
		extra = append(extra, fieldOp{name: "phones", act: aSet, value: []any{k.phone}})
	}
	if c.mode == mCustom && !has(c.fieldName) {
		extra = append(extra, fieldOp{name: c.fieldName, act: aSet, value: k.raw})
	}
	if len(extra) > 0 {
		ops = append(extra, ops...)
	}
	if c.mode == mPushSub {
		addr := pushAddr(k.provider, k.subscriptionID)
		found := false
		for i := range subs {
			if subs[i].sub.Channel == "push" && subs[i].addr == addr {
				found = true
			}
		}
		if !found {
			seed := subOp{addr: addr, sub: Subscription{ResourceID: c.resourceID, Channel: "push", Provider: k.provider, SubscriptionID: k.subscriptionID}}
			subs = append([]subOp{seed}, subs...)
		}
	}
	return ops, subs
}

// find returns the single profile the key matches, nil if none, or the 409
// error when it matches more than one.
func (s *store) find(d *database, c *call, k *matchKey) (*profile, *apiError) {
	var buf [4]*profile
	found := buf[:0]
	switch c.mode {
	case mEmail:
		found = addAll(found, d.emails[strings.ToLower(k.email)])
		found = d.bySub(found, "email", strings.ToLower(k.email), c.resourceID)
	case mEmailProfile:
		found = addAll(found, d.emails[strings.ToLower(k.email)])
	case mEmailSub:
		found = d.bySub(found, "email", strings.ToLower(k.email), c.resourceID)
	case mPhone:
		found = addAll(found, d.phones[k.phone])
		found = d.bySub(found, "sms", k.phone, c.resourceID)
	case mPhoneSub:
		found = d.bySub(found, "sms", k.phone, c.resourceID)
	case mProfileID:
		if p := s.byID[k.profileID]; p != nil && p.db == c.dbID {
			found = append(found, p)
		}
	case mPushSub:
		found = d.bySub(found, "push", pushAddr(k.provider, k.subscriptionID), 0)
	case mCustom:
		found = addAll(found, d.fieldIndex(c.fieldName)[k.value])
	case mCustomSub:
		found = addAll(found, d.subFieldIndex(c.fieldName)[k.value])
	case mEmailPhone:
		if k.email != "" {
			found = addAll(found, d.emails[strings.ToLower(k.email)])
		}
		if k.phone != "" {
			found = addAll(found, d.phones[k.phone])
		}
	case mEmailPhoneSub:
		if k.email != "" {
			found = d.bySub(found, "email", strings.ToLower(k.email), c.resourceID)
		}
		if k.phone != "" {
			found = d.bySub(found, "sms", k.phone, c.resourceID)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	default:
		return nil, errAmbiguous
	}
}

// bySub adds the profiles holding a subscription on channel with addr,
// only on resource when resource > 0.
func (d *database) bySub(found []*profile, channel, addr string, resource int64) []*profile {
	for _, p := range d.subs[chanAddr{channel, addr}] {
		if (resource == 0 || p.subscription(resource, channel, addr) != nil) && !slices.Contains(found, p) {
			found = append(found, p)
		}
	}
	return found
}

func addAll(found, ps []*profile) []*profile {
	for _, p := range ps {
		if !slices.Contains(found, p) {
			found = append(found, p)
		}
	}
	return found
}

func (p *profile) subscription(resource int64, channel, addr string) *subscription {
	for _, sub := range p.subs {
		if sub.ResourceID == resource && sub.Channel == channel && sub.addr == addr {
			return sub
		}
	}
	return nil
}

func (d *database) fieldIndex(name string) map[string][]*profile {
	if idx, ok := d.fields[name]; ok {
		return idx
	}
	idx := map[string][]*profile{}
	for _, p := range d.profiles {
		if t, ok := scalarText(p.fields[name]); ok {
			idx[t] = addRef(idx[t], p)
		}
	}
	d.fields[name] = idx
	return idx
}

func (d *database) subFieldIndex(name string) map[string][]*profile {
	if idx, ok := d.subFields[name]; ok {
		return idx
	}
	idx := map[string][]*profile{}
	for _, p := range d.profiles {
		for _, sub := range p.subs {
			if t, ok := scalarText(sub.CustomFields[name]); ok {
				idx[t] = addRef(idx[t], p)
			}
		}
	}
	d.subFields[name] = idx
	return idx
}

// setField stores one field and keeps the indexes that cover it in step.
func (d *database) setField(p *profile, name string, val any, unset bool) {
	old, had := p.fields[name]
	if unset {
		delete(p.fields, name)
	} else {
		p.fields[name] = val
	}
	switch name {
	case "email":
		if s, ok := old.(string); had && ok {
			unindex(d.emails, strings.ToLower(s), p)
		}
		if s, ok := val.(string); !unset && ok {
			k := strings.ToLower(s)
			d.emails[k] = addRef(d.emails[k], p)
		}
	case "phones":
		if l, ok := old.([]any); had && ok {
			for _, e := range l {
				if s, ok := e.(string); ok {
					unindex(d.phones, s, p)
				}
			}
		}
		if l, ok := val.([]any); !unset && ok {
			for _, e := range l {
				if s, ok := e.(string); ok {
					d.phones[s] = addRef(d.phones[s], p)
				}
			}
		}
	}
	if idx, ok := d.fields[name]; ok {
		if t, ok := scalarText(old); had && ok {
			unindex(idx, t, p)
		}
		if t, ok := scalarText(val); !unset && ok {
			idx[t] = addRef(idx[t], p)
		}
	}
}

// upsertSubs stores subscriptions per (resource_id, channel, address),
// merging into an existing one: status and priority when given (not -1),
// cats replaced when given, custom_fields and cc_data merged key by key.
func (d *database) upsertSubs(p *profile, ops []subOp) {
	// Subscription custom fields indexed for custom_sub are re-indexed for
	// this profile: drop its old entries, store, add the new ones.
	for name, idx := range d.subFields {
		for _, sub := range p.subs {
			if t, ok := scalarText(sub.CustomFields[name]); ok {
				unindex(idx, t, p)
			}
		}
	}
	for i := range ops {
		op := &ops[i]
		cur := p.subscription(op.sub.ResourceID, op.sub.Channel, op.addr)
		if cur == nil {
			ns := &subscription{Subscription: op.sub.clone(), addr: op.addr}
			if !op.hasStatus {
				ns.Status = "subscribed"
			}
			p.subs = append(p.subs, ns)
			k := chanAddr{op.sub.Channel, op.addr}
			d.subs[k] = addRef(d.subs[k], p)
			continue
		}
		if op.hasStatus {
			cur.Status = op.sub.Status
		}
		if op.hasPriority {
			v := *op.sub.Priority
			cur.Priority = &v
		}
		if op.hasCats {
			cur.Cats = append([]string(nil), op.sub.Cats...)
		}
		if op.sub.Email != "" {
			cur.Email = op.sub.Email
		}
		if len(op.sub.CustomFields) > 0 {
			cur.CustomFields = mergeObjects(cur.CustomFields, op.sub.CustomFields)
		}
		if len(op.sub.CCData) > 0 {
			cur.CCData = mergeObjects(cur.CCData, op.sub.CCData)
		}
	}
	for name, idx := range d.subFields {
		for _, sub := range p.subs {
			if t, ok := scalarText(sub.CustomFields[name]); ok {
				idx[t] = addRef(idx[t], p)
			}
		}
	}
}

func addRef(l []*profile, p *profile) []*profile {
	if slices.Contains(l, p) {
		return l
	}
	return append(l, p)
}

func unindex[K comparable](m map[K][]*profile, k K, p *profile) {
	l := m[k]
	i := slices.Index(l, p)
	if i < 0 {
		return
	}
	if len(l) == 1 {
		delete(m, k)
		return
	}
	m[k] = slices.Delete(l, i, i+1)
}

// snapshot returns deep copies of all profiles in creation order.
func (s *store) snapshot() []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Profile, len(s.all))
	for i, p := range s.all {
		out[i] = p.snapshot()
	}
	return out
}

func (p *profile) snapshot() Profile {
	sp := Profile{
		ID:            p.id,
		DBID:          p.db,
		Fields:        cloneMap(p.fields),
		Subscriptions: make([]Subscription, len(p.subs)),
		Segments:      append([]int64{}, p.segments...),
		Writes:        p.writes,
		IncrApplied:   p.incr,
	}
	for i, sub := range p.subs {
		sp.Subscriptions[i] = sub.clone()
	}
	return sp
}

// counts returns the number of profiles and the write counts.
func (s *store) counts() (profiles int, writes, incrWrites, incrTwice int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all), s.writes, s.incrWrites, s.incrTwice
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
