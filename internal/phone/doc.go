// Package phone normalises phone numbers to E.164 with exactly the result of
// github.com/nyaruka/phonenumbers:
//
//	n, err := phonenumbers.Parse(s, region)
//	ok := err == nil && phonenumbers.IsValidNumber(n)
//	e164 := phonenumbers.Format(n, phonenumbers.E164)
//
// [Normalize] gives the same accepted set and the same output string, at a
// fraction of the cost for the cells a customer file is made of; [Library]
// is the three calls above, the reference it is tested against.
//
// # Why it is faster
//
// The library spends most of a Parse in regular expressions over the raw
// text: where the number starts, whether it is viable, whether it ends in
// an extension, whether it has letters. For a clean cell, made only of
// ASCII digits, one leading '+' and the separators space, no-break space,
// '-', '(', ')', '.' and '/', each of those passes has a known outcome: the
// number starts at the first digit or '+', it is viable once it has three
// digits, no extension can match without a letter, '#', ',', ';' or '~',
// and normalising drops the separators. A clean number followed by a plain
// extension ("доб. 12", "ext: 12", "x12") is split where the library would
// split it (see splitExtension). The digits then go through a transcription
// of the library's region-specific steps (international prefix, country
// code, national prefix and carrier code, possible lengths) on the
// library's own metadata, with its pattern strings compiled the way it
// compiles them.
//
// Validation follows IsValidNumber step for step (the region among those
// sharing the country code, then the number type) but matches each pattern
// once: the library builds each anchored pattern string anew, looks it up
// in a locked map and matches it twice (once for the possible lengths, once
// for the type) for every type it tries.
//
// Every other input goes to the library unchanged: letters (other than an
// extension label), '#', ',', ';', '*', '~', a '+' that is not the first
// character after the separators, other Unicode digits or punctuation,
// fewer than three digits, more than the library accepts, and any default
// region the library does not support (including lower case). The
// differential test and the fuzz target compare the two over generated and
// arbitrary inputs.
//
// The compiled patterns are built per region on first use and kept for the
// life of the process: their memory is bounded by the library's metadata
// (a few hundred regions, a few MB if every one is used). Everything here
// is safe for concurrent use.
package phone
