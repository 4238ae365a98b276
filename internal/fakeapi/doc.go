// Package fakeapi is an in-memory stand-in for the Altcraft profiles API,
// used by the demo, the tests and the benchmarks.
package fakeapi
