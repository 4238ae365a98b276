// Package notify tells people who are not at the terminal how a run went:
// dead-man's-switch pings in the style of healthchecks.io, and a completion
// webhook that Slack and Mattermost show as a message.
//
// # Pings
//
// [Client.Ping] POSTs to a check URL: base+"/start" when the run begins
// ([Start]), base when it ends with exit code 0, base+"/fail" otherwise
// ([Exit]). The body is text/plain: "exit code N" and then the first lines
// of the run summary, at most [MaxPingBody] bytes. The monitoring service
// alerts when the success ping does not come on time, when /fail comes, or
// when a /start is not followed by an end within its grace time: so a run
// that hangs or never starts alerts too.
//
// healthchecks.io also takes base+"/<exit code>" (0 = success, 1-255 =
// failure). Ping sends /fail instead: it is the endpoint every
// healthchecks-compatible service understands, the success/failure split is
// all an alert needs, and the exact code is still in the body's first line.
//
// # Webhook
//
// [Client.Notify] POSTs the run's JSON summary with a "text" field merged
// into it: Slack and Mattermost incoming webhooks show "text" and ignore
// the rest, while any other receiver gets the whole summary.
//
// # Bounds
//
// Neither ever fails a run: each returns an error for the caller to log.
// Each call, retries included, ends within [Client.Timeout] (default
// [DefaultTimeout]); a server that does not answer delays the end of the
// run by at most that much. Network errors, 429 and 5xx replies are tried
// again, up to [Client.Attempts] times in all, each attempt getting an even
// share of the timeout. Redirects are followed only to the same host and
// never from https to http.
//
// # Secrets
//
// A check URL or webhook URL is itself a secret (a healthchecks UUID, a
// Slack webhook path): errors show it as scheme://host/… ([Redact]), with no
// user, path or query, and any echo of them in a reply is masked too.
package notify
