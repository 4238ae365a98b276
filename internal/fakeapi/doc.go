// Package fakeapi is an in-memory stand-in for the Altcraft profiles API
// (User API v1.1), used by the demo, the tests and the benchmarks.
//
// It owns the HTTP handler ([Server]), the in-memory profile store with its
// matching indexes, and the fault injection (latency, HTTP 429, 5xx, dropped
// connections, slow replies, transient API errors, replies lost after the
// request was applied, a tariff limit) driven by a seeded PRNG. The store
// counts the writes applied to each profile, so a row applied twice shows.
// It imports nothing from the importer: it validates requests into its own
// types, so contract drift between the client and the API shows up in tests.
//
// # Routes
//
//	POST /api/v1.1/profiles/import        add or update one profile
//	POST /api/v1.1/profiles/update        update one existing profile
//	POST /api/v1.1/profiles/import_batch  add or update data[i], one result each
//	POST /api/v1.1/profiles/update_batch  update data[i], one result each
//	GET  /fake/profiles                   the store as JSONL, one [Profile] a line, in creation order
//	GET  /fake/stats                      [Stats] as JSON; ?per_second=1 adds [Server.PerSecond]
//	POST /fake/reset                      [Server.Reset]
//	POST /fake/quota?profiles=N           [Server.SetQuota]: N more writes allowed (0 = no limit)
//
// Each /fake/profiles line holds, besides the profile, "fake_writes" (the
// writes applied to it, its creation included) and "fake_incr_applied"
// (those carrying an incr field function). They sit beside "fields", where
// no Altcraft field can appear. /fake/stats adds up the store:
// "writes_applied", "incr_applied" (writes carrying an incr) and
// "incr_applied_twice" (profiles whose incr was applied more than once),
// and the tariff limit: "quota_limit" (0 = none) and "quota_used".
//
// A trailing slash is accepted on the profile methods. Another method on
// them is HTTP 405; any other path is HTTP 404. The /fake/ routes need no
// token and see no faults.
//
// # Requests
//
// The body is JSON (Content-Type: application/json, decoded with exact
// numbers) or XML (application/xml or text/xml); another or no Content-Type
// is error 400. It may be compressed with Content-Encoding: gzip (x-gzip
// and identity are accepted too, any other encoding is error 400); both
// the body as sent and its decompressed form must fit MaxBody, and a
// corrupt gzip body is error 400 "invalid gzip body: …".
//
// The token is taken from "Authorization: Bearer" if present, else from
// the body's "token". Top-level fields: db_id (required, int > 0),
// matching (default email), the matching keys, resource_id,
// skip_triggers, detect_geo, skip_invalid_subscriptions (bools),
// add_to_segments, remove_from_segments (lists of ids > 0; the profile's
// segments are recorded), data (an object; a list for batches). Unknown
// top-level fields are ignored.
//
// Matching modes, where each searches, and its keys (single calls: top-level
// fields; batches: read from each data[i], phone also from data[i].phones[0],
// the custom value from data[i][field_name] with field_name at the top):
//
//	email            profile email or any email subscription    email
//	email_profile    profile email                              email
//	email_sub        email subscriptions                        email
//	phone            profile phones or sms subscriptions        phone
//	phone_sub        sms subscriptions                          phone
//	profile_id       profile id (update only)                   profile_id
//	push_sub         push subscriptions                         provider, subscription_id
//	custom           profile field field_name = field_value     field_name, field_value
//	custom_sub       subscription custom_fields[field_name]     field_name, field_value
//	email_phone      profile email or profile phones            email and/or phone
//	email_phone_sub  email or sms subscriptions                 email and/or phone
//
// E-mails are not forced unique: when two profiles hold one address, a
// search for it answers 409. E-mails compare case-insensitively; custom
// values compare as text, so a
// 17-digit id sent as a number matches the same id stored as a string.
// resource_id restricts the subscription part of the email and phone modes
// to that resource. When nothing matches, import creates a profile holding
// the key (email → email, phone → phones, custom → the field, push_sub → a
// push subscription on resource_id, 0 if none is given; data sent for the
// same field wins over the key) and update fails.
// In batches, data[i].phone, profile_id, provider and subscription_id, and
// data[i][field_name] for custom_sub, only carry the key and are not stored.
//
// Data checks: email a plausible address; phones a list of "+" and 7–15
// digits; _-prefixed fields ending in "date" (_bdate, _regdate) YYYY-MM-DD or
// RFC 3339; _sex male, female, 0, 1 or 2. Any field may be a function
// {"action": set|unset|incr|add|delete|upsert, "value": ...}: incr adds a
// number (exact for integers), add/delete edit a list of strings, upsert
// merges an object (with "submatch": into the arr_object element whose
// submatch property equals the value's, or at that path of an object),
// unset removes the field (not allowed on email). Subscriptions need
// resource_id (> 0) and channel with its address: email (email or
// email_data.email), sms (phone), push (provider, subscription_id),
// telegram_bot (cc_data.id), whatsapp, viber, notify (cc_data.phone);
// optional status (subscribed, unsubscribed, suspended or an integer; -1
// leaves it unchanged), priority (int; -1 unchanged), custom_fields (object,
// merged), cats (list of strings, replacing). They are stored per
// (resource_id, channel, address) and updated in place. A bad subscription
// fails the item unless skip_invalid_subscriptions is true, which skips it.
// A failing item changes nothing.
//
// # XML convention
//
// The root element is <xml>. An element with child elements is an object
// keyed by the child names (a repeated name is an error); an element with
// the attribute array='true' is a list of its child elements in order,
// whatever they are called (<item> by convention), with one exception: two
// or more children with distinct names, none of them <item>, are the fields
// of one object, the list's only element, as Altcraft's own documentation
// writes a subscription list:
//
//	<subscriptions array='true'><resource_id>1</resource_id><channel>email</channel><email>a@example.com</email></subscriptions>
//
// is [{"resource_id": "1", "channel": "email", "email": "a@example.com"}].
// One child, any <item> child or a repeated name keeps the list reading:
// <phones array='true'><phone>…</phone></phones> is a list of one phone.
// Any other element is its text, a string. Numbers and booleans are
// written as text and accepted as such where a number or boolean is
// expected. An empty array='true' element is an empty list. Attributes
// other than array are ignored. Example:
//
//	<xml><token>T</token><db_id>1</db_id><matching>email</matching>
//	  <data array='true'>
//	    <item><email>a@example.com</email><phones array='true'><item>+79001234567</item></phones></item>
//	  </data></xml>
//
// An XML request is answered in XML: <xml><error>0</error>
// <error_text>Successful operation</error_text><profile_id>…</profile_id></xml>,
// and batches add <result array='true'><item>…</item>…</result>, in the
// shape Options.BatchReply sets, as in JSON.
//
// # Replies and error codes
//
// API errors are HTTP 200 with the envelope {"error": code, "error_text":
// text}; success adds "profile_id" (single calls) or "result" (batches; a
// bad item fails alone, the others are applied). The batch result takes
// the shape of Options.BatchReply ([BatchReply]):
//
//	ordered      result[i] answers data[i]: error, error_text and, on success, profile_id (the default)
//	errors-only  result lists only the failed items' {error, error_text}, in order, no position, no profile_id
//	bare         no result: {"error":0,"error_text":"Successful operation"}
//
//	HTTP  error  error_text
//	200   0      Successful operation
//	200   400    invalid JSON body: … / invalid XML body: … / Content-Type "…" is not supported: …
//	200   400    db_id is required / db_id … is not a positive integer / data is required /
//	             data must be an object … / data must be a list of profiles … / data[i] must be an object …
//	200   400    unknown matching mode … / matching M requires field F / matching profile_id is only allowed on update
//	200   400    invalid email … / invalid phone … / invalid profile_id … / invalid field F: … /
//	             field F: unknown action … / field email cannot be unset / field F: cannot incr … /
//	             invalid subscriptions[i]: … / resource_id … / add_to_segments[i] … / skip_triggers … is not a boolean
//	200   400    too many profiles in one request (N > MaxBatch)
//	200   400    invalid gzip body: … / Content-Encoding "…" is not supported: send gzip or no encoding
//	200   401    API token required
//	200   402    Tariff limit reached (Options.Quota; nothing in the request applied)
//	200   403    Invalid API token
//	200   404    database N not found (db_id not in Options.DBs)
//	200   404*   Profile not found (update, or a batch item of update_batch; *Options.NotFoundCode)
//	200   409    more than one profile matches
//	200   500*   Temporary error, try again later (injected by ErrorRate; *Options.ErrorCode)
//	402   402    Tariff limit reached (Options.Quota with QuotaHTTP; a JSON body whatever the request's format)
//	404   404    unknown method "/path"
//	405   405    method M not allowed: use POST (with Allow: POST)
//	413   413    request body larger than N bytes (Options.MaxBody, as sent or decompressed; nothing applied)
//	429   429    Too many requests (with Retry-After: seconds, or an HTTP date; RateLimit or ThrottleRate)
//	500, 502, 503  text/plain "N Status (injected by fakeapi)" (FailRate; nothing applied)
//
// Replies lost after the request was applied (ApplyThenRate), by
// Options.ApplyThen ([LostReply]):
//
//	500, 502, 503, 504  text/plain "N Status (injected by fakeapi after applying the request)"
//	reset     no reply: the connection is closed (a TCP reset) once the request was applied
//	html      HTTP 200, Content-Type text/html, an nginx-style "502 Bad Gateway" page
//	huge      HTTP 200 in the request's format, no Content-Length: HugeReplyPadding (64 MiB) spaces, then the real reply
//	redirect  HTTP 307, Location the request's own path and query, empty body: a client that follows it sends the request again
//	timeout   the real reply, held for Options.Slow
//
// # Faults
//
// Each API request draws its fault decisions in arrival order, always the
// same number of draws: six from a PRNG seeded with Options.Seed (drop,
// fail, slow, API error, jitter, the fail status), then two from a second
// stream of the same seed (ThrottleRate, ApplyThenRate). Turning one fault
// on moves no other, and the later faults leave a seed's assignment of the
// earlier ones as it was. With one client sending one request at a time, a
// seed fixes which requests meet which faults; with concurrent clients the
// arrival order, and so the assignment, may vary.
//
// In order: a drop closes the connection before anything else; a
// rate-limited request gets 429; a throttled one (ThrottleRate) gets 429
// too; a fail gets 500/502/503 — none of these is applied. Then the body is
// read and decompressed (413 above MaxBody), authenticated, and an API
// error injected or the call processed: the request-level checks (400,
// 404), the tariff limit (402 once Quota writes were applied, or when a
// batch's items could cross it: nothing applied), then the items. A slow
// request is processed and its reply held for Slow. An apply-then request
// is processed and stored like any other, whatever its outcome, and its
// reply is then replaced as ApplyThen says. Latency ± Jitter precedes every
// reply. All waits use the standard timers and end early when the
// request's context ends, so the package runs under testing/synctest.
package fakeapi
