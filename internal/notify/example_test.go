package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"importer/internal/notify"
)

// A run pings at its start and end and posts its summary; a failure of
// either is logged and never changes the exit code.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s %q\n", r.Method, r.URL.Path, body)
	}))
	defer srv.Close()
	ctx := context.Background()
	check := srv.URL + "/ping/5f1c0a6e"

	if err := notify.Ping(ctx, check, notify.Start()); err != nil {
		fmt.Println("ping:", err) // log it and go on
	}
	// ... the run ...
	text := "20 rows in 1.6s (12 rows/s): 17 ok, 0 failed, 3 invalid, 0 unknown\n"
	if err := notify.Ping(ctx, check, notify.Exit(2, text)); err != nil {
		fmt.Println("ping:", err)
	}
	summary := json.RawMessage(`{"rows":20,"ok":17,"invalid":3,"exit_code":2}`)
	if err := notify.Notify(ctx, srv.URL+"/hooks/T0/B1", summary, "legacy-crm: "+text); err != nil {
		fmt.Println("webhook:", err)
	}
	// Output:
	// POST /ping/5f1c0a6e/start ""
	// POST /ping/5f1c0a6e/fail "exit code 2\n20 rows in 1.6s (12 rows/s): 17 ok, 0 failed, 3 invalid, 0 unknown\n"
	// POST /hooks/T0/B1 "{\"text\":\"legacy-crm: 20 rows in 1.6s (12 rows/s): 17 ok, 0 failed, 3 invalid, 0 unknown\\n\",\"rows\":20,\"ok\":17,\"invalid\":3,\"exit_code\":2}"
}

func ExampleRedact() {
	fmt.Println(notify.Redact("https://hc-ping.com/5f1c0a6e-8d2b-4c3a?rid=1"))
	fmt.Println(notify.Redact("https://user:pass@hooks.slack.com/services/T0/B1/XYZ"))
	// Output:
	// https://hc-ping.com/…
	// https://hooks.slack.com/…
}
