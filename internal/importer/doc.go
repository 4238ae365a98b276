// Package importer wires the pipeline: input → mapping → sender → results.
package importer
