// Package metrics publishes the outcome of one run for Prometheus, so that
// a nightly import watched by nobody at a terminal can still raise an alert.
//
// A run ends by filling a [Run] (counts by status, requests, retries, 429s,
// duration, exit code, success) and handing it to one or both outputs:
//
//   - [Push] sends it to a Prometheus Pushgateway under the grouping key
//     job / config / shard. It uses push-add (HTTP POST): only the metric
//     names pushed replace the group's previous values, so a failed run,
//     which does not push importer_last_success_timestamp_seconds, leaves
//     the last success where it was;
//   - [WriteTextfile] writes the same metrics for node_exporter's textfile
//     collector, atomically (a temporary file in the same directory, then a
//     rename). A failed run copies importer_last_success_timestamp_seconds
//     from the file it replaces.
//
// With either, "no successful import for 26 hours" is one alert rule:
//
//	time() - importer_last_success_timestamp_seconds > 26 * 3600
//
// Both are best-effort: an error is returned for the caller to log, never a
// reason to fail the run, and [Push] gives up after [PushTimeout].
//
// # Metrics
//
// All are gauges describing the last run:
//
//	importer_rows{status="ok|failed|invalid|unknown|unchanged|missing|skipped"}
//	importer_requests                         HTTP requests, retries included
//	importer_retries                          requests that were retries
//	importer_throttled                        HTTP 429 replies
//	importer_duration_seconds                 wall time of the run
//	importer_exit_code                        the process exit code
//	importer_last_run_success                 1 when the run succeeded, else 0
//	importer_last_run_timestamp_seconds       when the run finished
//	importer_last_success_timestamp_seconds   when the last successful run finished
//
// The textfile has no job label (node_exporter's scrape owns "job"): its
// series carry importer_job, config and shard instead. Empty config and
// shard values are left out of both.
package metrics
