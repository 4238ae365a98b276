package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readAll reads an object to its end.
func readAll(t *testing.T, o *Object) ([]byte, error) {
	t.Helper()
	defer o.Close()
	return io.ReadAll(o)
}

func TestS3Read(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	plain := bytes.Repeat([]byte("email,name\nann@example.com,Ann\n"), 1000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	s3.put(t, "crm", "exports/2024-03-01.csv", plain)
	s3.put(t, "crm", "exports/2024-03-01.csv.gz", gz.Bytes())

	cases := []struct {
		key  string
		data []byte
	}{
		{"exports/2024-03-01.csv", plain},
		{"exports/2024-03-01.csv.gz", gz.Bytes()}, // bytes pass through: the reader detects gzip
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			o, err := Open(context.Background(), "s3://crm/"+c.key, s3.opts())
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.data) {
				t.Fatalf("read %d bytes, want the %d stored", len(got), len(c.data))
			}
			sha := sha256.Sum256(c.data)
			if !bytes.Equal(o.Sum(), sha[:]) {
				t.Errorf("Sum = %x, want %x", o.Sum(), sha)
			}
			md := md5.Sum(c.data)
			want := Meta{Location: "s3://crm/" + c.key, Name: filepath.Base(c.key), Size: int64(len(c.data)), ETag: hex.EncodeToString(md[:])}
			got2 := o.Meta()
			if got2.LastModified.IsZero() {
				t.Error("LastModified is zero")
			}
			got2.LastModified = time.Time{}
			if diff := cmp.Diff(want, got2); diff != "" {
				t.Errorf("Meta (-want +got):\n%s", diff)
			}
			if o.Size() != int64(len(c.data)) {
				t.Errorf("Size = %d", o.Size())
			}
		})
	}
}

// TestS3Changed: an object replaced or deleted while it is read ends the
// read with ErrChanged instead of io.EOF.
func TestS3Changed(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	v1 := bytes.Repeat([]byte("a,b\n"), 50000)
	cases := []struct {
		name   string
		change func()
		msg    string
	}{
		{"replaced", func() { s3.put(t, "crm", "x.csv", bytes.Repeat([]byte("c,d\n"), 50000)) }, "was replaced while it was read"},
		{"deleted", func() { s3.backend.DeleteObject("crm", "x.csv") }, "was deleted while it was read"},
		{"unchanged", func() {}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s3.put(t, "crm", "x.csv", v1)
			o, err := Open(context.Background(), "s3://crm/x.csv", s3.opts())
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			half := make([]byte, len(v1)/2)
			if _, err := io.ReadFull(o, half); err != nil {
				t.Fatal(err)
			}
			c.change()
			_, err = io.ReadAll(o)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("unchanged object: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "s3://crm/x.csv") {
				t.Fatalf("err = %v, want ErrChanged saying %q", err, c.msg)
			}
			if err2 := o.Verify(context.Background()); !errors.Is(err2, ErrChanged) {
				t.Errorf("Verify after the read = %v, want ErrChanged", err2)
			}
		})
	}
}

// TestS3Errors: what is missing or refused is named, and what to check;
// the secret never shows.
func TestS3Errors(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	s3.put(t, "crm", "a.csv", []byte("x\n"))
	cases := []struct {
		name     string
		location string
		id, key  string // credentials; "" = the right ones
		err      error
		msg      []string
	}{
		{name: "missing object", location: "s3://crm/nope.csv", err: ErrNotFound, msg: []string{"s3://crm/nope.csv", "no such object", "check the key"}},
		{name: "missing bucket", location: "s3://nobucket/a.csv", err: ErrNotFound, msg: []string{"s3://nobucket/a.csv", `no such bucket "nobucket"`}},
		{name: "unknown access key", location: "s3://crm/a.csv", id: "AKIAWRONG", key: testSecret, err: ErrAccess, msg: []string{"s3://crm/a.csv", "AWS_ACCESS_KEY_ID"}},
		{name: "wrong secret", location: "s3://crm/a.csv", id: testKeyID, key: "not-the-secret", err: ErrAccess, msg: []string{"s3://crm/a.csv", "AWS_SECRET_ACCESS_KEY"}},
		{name: "a prefix is not an object", location: "s3://crm/exports/", err: ErrLocation, msg: []string{"prefix or a pattern"}},
		{name: "a glob is not an object", location: "s3://crm/*.csv", err: ErrLocation, msg: []string{"prefix or a pattern"}},
		{name: "no bucket", location: "s3:///a.csv", err: ErrLocation, msg: []string{"want s3://bucket/key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.id != "" {
				useCredentials(t, c.id, c.key)
			}
			o, err := Open(context.Background(), c.location, s3.opts())
			if err == nil {
				o.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			for _, m := range c.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err %q does not say %q", err, m)
				}
			}
			for _, secret := range []string{testSecret, "not-the-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err %q shows a secret", err)
				}
			}
		})
	}
}

// TestS3CredentialsFile: without the environment variables the shared
// credentials file's profile is used.
func TestS3CredentialsFile(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	s3.put(t, "crm", "a.csv", []byte("x\n"))
	useCredentials(t, "", "")
	file := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(file, []byte("[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n\n[importer]\naws_access_key_id = "+testKeyID+"\naws_secret_access_key = "+testSecret+"\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_PROFILE", "importer")
	o, err := Open(context.Background(), "s3://crm/a.csv", s3.opts())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, o); err != nil || string(got) != "x\n" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// TestS3EnvEndpoint: the endpoint and region may come from the AWS
// variables; a plain-http endpoint is warned about.
func TestS3EnvEndpoint(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	s3.put(t, "crm", "a.csv", []byte("x\n"))
	t.Setenv("AWS_ENDPOINT_URL", s3.url)
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	var warned []string
	o, err := Open(context.Background(), "s3://crm/a.csv", Options{S3: S3Options{PathStyle: true}, Warn: func(m string) { warned = append(warned, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, o); err != nil || string(got) != "x\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "plain http") {
		t.Errorf("warnings %q, want one about plain http", warned)
	}
}

func TestPick(t *testing.T) {
	s3 := newFakeS3(t)
	s3.bucket(t, "crm")
	for _, key := range []string{"exports/a.csv", "exports/b.csv", "exports/c.csv.gz", "exports/sub/d.csv", "other/e.csv"} {
		s3.put(t, "crm", key, []byte(key)) // in this order: each a minute newer
	}
	skipKeys := func(keys ...string) func(Meta) bool {
		return func(m Meta) bool {
			for _, k := range keys {
				if m.Location == "s3://crm/"+k {
					return true
				}
			}
			return false
		}
	}
	cases := []struct {
		name     string
		location string
		rule     string
		skip     func(Meta) bool
		want     string // the key picked; "" = an error
		err      error
		msg      string
	}{
		{name: "newest under a prefix, not in sub-folders", location: "s3://crm/exports/", want: "exports/c.csv.gz"},
		{name: "newest not yet imported", location: "s3://crm/exports/", skip: skipKeys("exports/c.csv.gz"), want: "exports/b.csv"},
		{name: "oldest", location: "s3://crm/exports/", rule: PickOldest, want: "exports/a.csv"},
		{name: "oldest not yet imported", location: "s3://crm/exports/", rule: PickOldest, skip: skipKeys("exports/a.csv"), want: "exports/b.csv"},
		{name: "glob", location: "s3://crm/exports/*.csv", want: "exports/b.csv"},
		{name: "glob across folders", location: "s3://crm/exports/*/*.csv", want: "exports/sub/d.csv"},
		{name: "glob with a character class", location: "s3://crm/exports/[ab].csv", rule: "newest", want: "exports/b.csv"},
		{name: "whole bucket's top level has no objects", location: "s3://crm/", err: ErrNotFound, msg: "no object matches"},
		{name: "everything imported", location: "s3://crm/exports/*.csv.gz", skip: skipKeys("exports/c.csv.gz"), err: ErrNotFound, msg: "all 1 objects are skipped"},
		{name: "one object named", location: "s3://crm/other/e.csv", want: "other/e.csv"},
		{name: "one object named, skipped", location: "s3://crm/other/e.csv", skip: skipKeys("other/e.csv"), err: ErrNotFound, msg: "skipped"},
		{name: "missing bucket", location: "s3://nobucket/exports/", err: ErrNotFound, msg: "no such bucket"},
		{name: "unknown rule", location: "s3://crm/exports/", rule: "largest", err: ErrLocation, msg: `pick rule "largest"`},
		{name: "bad pattern", location: "s3://crm/exports/[a.csv", err: ErrLocation, msg: "bad pattern"},
		{name: "not s3", location: "https://example.invalid/x/", err: ErrLocation, msg: "s3://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Pick(context.Background(), c.location, c.rule, s3.opts(), c.skip)
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v saying %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Location != "s3://crm/"+c.want || m.Size != int64(len(c.want)) || m.ETag == "" || m.LastModified.IsZero() {
				t.Fatalf("picked %+v, want %s", m, c.want)
			}
			o, err := Open(context.Background(), m.Location, s3.opts())
			if err != nil {
				t.Fatal(err)
			}
			if got, err := readAll(t, o); err != nil || string(got) != c.want {
				t.Errorf("read %q, %v", got, err)
			}
		})
	}
}
