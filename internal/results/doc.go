// Package results owns everything a run leaves behind: the per-row results
// journal (CSV or JSONL), the rejects file, the payload dump, the resume
// reader, the input fingerprint, the lock that keeps two runs off one journal,
// and the end-of-run summary with its grouped errors.
package results
