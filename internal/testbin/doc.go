// Package testbin builds the module's commands for tests that run them as
// real processes (signals, exit codes, memory of the child): once per test
// binary, whatever the number of tests that ask, and without -race, as
// `make build` builds them.
package testbin
