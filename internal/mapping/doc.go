// Package mapping owns the column-mapping config (YAML) and turns each input
// record into an Altcraft profile request.
//
// # Config
//
// [Load] (or [Parse]) decodes a config strictly over [Default] by walking
// the YAML node tree: unknown keys (with the closest known key), wrong
// types, keys written twice, a token key anywhere and every validation
// problem come back together in one [ConfigError]. Each [Problem] carries
// its file, line, column, key path and [ProblemKind] as data; a syntax
// error points at the line that breaks the YAML. Merge keys (<<: *anchor)
// and aliases work everywhere. [Config.Validate] re-checks a config after
// flags change it.
//
// # Match keys
//
// The match: section names where each row's matching key comes from. Each
// key takes every form a field spec takes (a column name, {column: ...}
// with type, transform, map, default, split — the first element is the key
// — or a constant {value: ...}), within its slot's type (phone is always a
// phone, email and the push keys strings, field_value any type); only the
// keys of request.matching may be written:
//
//	key              matching modes                            when match: leaves it out
//	email            email email_profile email_sub             fields.email
//	                 email_phone email_phone_sub (either key)
//	phone            phone phone_sub                           fields.phones (its first number),
//	                 email_phone email_phone_sub (either key)  else the first sms subscription's phone
//	profile_id       profile_id                                (none)
//	provider         push_sub                                  the first push subscription's provider
//	subscription_id  push_sub                                  the first push subscription's subscription_id
//	field_name       custom custom_sub                         (none: required)
//	field_value      custom custom_sub                         fields.<field_name>
//
// field_name is the custom field's name, not a value: written CRM_ID or
// {value: CRM_ID}, never a column, as it travels in the request envelope.
// A row whose key is empty or invalid is invalid, never sent.
//
// # Mapper
//
// [Compile] binds a config to a file's header (nil for JSONL, whose columns
// are dotted paths) and builds a [Mapper]: a plan of column indexes,
// converters and pre-encoded JSON fragments. It fails with a [HeaderError]
// naming every mapped column the header lacks and its closest header name;
// for JSONL, [Mapper.MissingPaths] does the same against the paths of
// sampled objects ([PathSet]). [Mapper.Map] reads the cells of one record,
// converts them and appends JSON straight into one buffer: no reflection,
// no map per row, no regexp. Phone numbers are normalised by internal/phone
// (libphonenumber's results, without its text regexps for well-formed
// input) through a bounded cache shared by the goroutines of one Mapper.
//
// # Row rules
//
// Cells are trimmed; an empty cell (or a JSON null) is no value: the
// field's default, empty: unset, or required decide, else it is left out.
//
//   - date and datetime take the field's layouts in order, else by default
//     the ISO forms 2006-01-02, 2006-01-02T15:04:05 and 2006-01-02 15:04:05
//     (a date keeps the day; a datetime reads a bare date as midnight),
//     02.01.2006 for dates and RFC 3339. The layouts excel (Excel serial
//     day numbers; serial 60, the 29 February 1900 Excel invents, is
//     refused), unix (seconds since 1970, fractions allowed) and unix_ms
//     (milliseconds) read numbers and mix with Go layouts; see numtime.go
//     for the exact rules.
//   - int takes any number whose value is whole (3, 3.0, 1e3); 3.5 is
//     invalid as "not a whole number".
//   - A JSON object, or a JSON list for a field that is not a list, makes
//     the row invalid, naming the path and what it got; JSON values are
//     never sent as objects. A field is a list with split: (a JSON list is
//     then taken element by element), as phones, as cats, or with action
//     add or delete.
//   - In a list, empty elements are dropped: the empty parts of a split
//     cell ("a,,b") and the null elements of a JSON list alike; a list with
//     no element left is no value.
//
// A row that cannot be mapped yields [RowErrors]: every problem of the
// row, each bad column once, as [FieldError] values naming the column, the
// value and the reason, with a short Kind for the run summary. It is data
// for the results file, never a fatal error. A [Request] holds the encoded
// row; the sender frames it:
//
//	single: {"token":T, AppendEnvelope(false), AppendSingle}
//	batch:  {"token":T, AppendEnvelope(true), "data":[AppendItem, ...]}
//
// The token never passes through this package.
package mapping
