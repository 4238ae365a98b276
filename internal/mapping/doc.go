// Package mapping owns the column-mapping config (YAML) and turns each input
// record into an Altcraft profile request.
//
// # Config
//
// [Load] (or [Parse]) decodes a config strictly over [Default]: unknown keys,
// wrong types, a token key anywhere and every validation problem come back
// together in one [ConfigError], each problem with its file:line and key
// path. [Config.Validate] re-checks a config after flags change it. The
// schema is DESIGN.md §4; the match keys each matching mode needs are derived
// from fields and subscriptions when obvious (email from fields.email, phone
// from fields.phones or the first sms subscription, the custom value from
// fields.<field_name>).
//
// # Mapper
//
// [Compile] binds a config to a file's header (nil for JSONL, whose columns
// are dotted paths) and builds a [Mapper]: a plan of column indexes,
// converters and pre-encoded JSON fragments. It fails with a [HeaderError]
// naming every mapped column the header lacks and its closest header name.
// [Mapper.Map] reads the cells of one record, converts them and appends
// JSON straight into one buffer: no reflection, no map per row, no regexp.
// Phone numbers, which cost ~14 µs to parse, go through a bounded cache
// shared by the goroutines of one Mapper.
//
// A row that cannot be mapped yields a [FieldError] naming the column, the
// value and the reason, with a short Kind for the run summary; it is data
// for the results file, never a fatal error. A [Request] holds the encoded
// row; the sender frames it:
//
//	single: {"token":T, AppendEnvelope(false), AppendSingle}
//	batch:  {"token":T, AppendEnvelope(true), "data":[AppendItem, ...]}
//
// The token never passes through this package.
package mapping
