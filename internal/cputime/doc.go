// Package cputime reads the CPU time this process has used so far, every
// thread (the collector's included), user and system: the measure the
// benchmarks compare, steadier on a shared machine than wall time.
package cputime
