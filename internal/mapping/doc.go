// Package mapping owns the column-mapping config (YAML) and turns each input
// record into an Altcraft profile request.
//
// [Load] reads a config strictly (unknown keys and wrong types are errors with
// their file:line), applies defaults and validates it once. [Compile] binds a
// config to a file's header and builds a [Mapper]: a plan of column indexes,
// parsers and pre-encoded JSON fragments, so that [Mapper.Map] does no
// reflection, no map building and no regexp work per row. A row that cannot
// be mapped yields a [FieldError] naming the column, the value and the reason;
// it is data for the results file, never a fatal error.
package mapping
