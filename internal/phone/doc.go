// Package phone normalises phone numbers to E.164 with exactly the result of
// github.com/nyaruka/phonenumbers:
//
//	n, err := phonenumbers.Parse(s, region)
//	ok := err == nil && phonenumbers.IsValidNumber(n)
//	e164 := phonenumbers.Format(n, phonenumbers.E164)
//
// [Normalize] gives the same accepted set and the same output string, at a
// fraction of the cost for the inputs a customer file is made of.
//
// # Why it is faster
//
// The library spends most of a Parse in regular expressions that look at
// the raw text: where the number starts, whether it is viable, whether it
// ends in an extension ("ext. 12", "x12", "#12", ";ext=12", ",,12"), whether
// it has letters. For a cell made only of ASCII digits, an optional leading
// '+' and the separators space, no-break space, '-', '(', ')', '.' and '/',
// every one of those passes has a known outcome: the number starts at the
// first digit or '+', it is viable once it has three digits, no extension
// pattern can match without a letter, '#', ',', ';' or '~', and normalising
// just drops the separators. Such a cell is reduced to its digits and parsed
// by a transcription of the library's remaining, region-specific steps
// (international prefix, country code, national prefix and carrier code,
// possible lengths), using the library's own metadata and the very same
// pattern strings compiled the same way.
//
// Validation follows IsValidNumber step for step (the region of a shared
// country code, then the number type) but matches each pattern once: the
// library builds the anchored pattern string, looks it up in a locked map
// and matches it twice (possible-length check, then type check) for every
// type it tries.
//
// Every other input goes to the library unchanged: letters (extensions,
// vanity numbers), '#', ',', ';', '*', '~', a '+' that is not the first
// character after the separators, other Unicode digits and punctuation,
// fewer than three digits, an input longer than the library accepts, and
// any default region the library does not support (including lower case).
// The differential test and the fuzz target compare the two over generated
// and arbitrary inputs.
//
// The compiled patterns are built per region on first use and kept for the
// life of the process: memory is bounded by the library's metadata (a few
// hundred regions). Everything here is safe for concurrent use.
package phone
