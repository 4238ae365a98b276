package mapping

import (
	"fmt"
	"os"
	"strings"
	"time"

	"importer/internal/input"
)

// Defaults applied by [Default] before a file is decoded over them.
const (
	DefaultEndpoint    = "update"         // api.endpoint: update only, never creates profiles
	DefaultBatchSize   = 1                // api.batch_size: one profile per call
	DefaultRate        = 10.0             // api.rate: requests per second
	DefaultTimeout     = 30 * time.Second // api.timeout: per attempt
	DefaultMaxAttempts = 5                // api.max_attempts: first try included
	DefaultAuth        = "body"           // api.auth: token in the JSON body
	DefaultMatching    = "email"          // request.matching: the API's own default
	DefaultPhoneRegion = "RU"             // input.phone_region: region of national numbers
	MaxBatchSize       = 10000            // the API's recommended ceiling per batch call
)

// Config is a mapping config: where and how to call the API, how to read the
// input and how each record becomes a profile request. Build one with [Load]
// or [Parse] (or [Default] plus edits), and call [Config.Validate] again after
// changing it. A Config is not modified by [Compile] and may be shared by
// goroutines that only read it.
type Config struct {
	API           API            `yaml:"api"`
	Request       RequestOptions `yaml:"request"`
	Input         Input          `yaml:"input"`
	Match         Match          `yaml:"match"`
	Fields        Fields         `yaml:"fields"` // ordered: YAML order is the order of data members
	Subscriptions []Subscription `yaml:"subscriptions"`
	State         State          `yaml:"state"`
	Metrics       Metrics        `yaml:"metrics"`

	Path   string `yaml:"-"` // the file it was loaded from, "" when parsed from bytes
	Source []byte `yaml:"-"` // the raw bytes, for a fingerprint of the run

	pos *positions // key paths → lines, for messages; nil for a hand-built Config
}

// API says where and how fast to send.
type API struct {
	// URL is the base URL; /api/v1.1/profiles/<endpoint> is appended. It may
	// be empty in the file when a flag or ALTCRAFT_API_URL supplies it.
	URL string `yaml:"url"`
	// Endpoint is "update" (update only) or "import" (add or update).
	Endpoint string `yaml:"endpoint"`
	// BatchSize is the number of profiles per call, 1..MaxBatchSize; above 1
	// the *_batch endpoints are used.
	BatchSize int `yaml:"batch_size"`
	// Rate is the request rate in requests per second; 0 means unlimited.
	Rate float64 `yaml:"rate"`
	// Concurrency bounds requests in flight; 0 derives it from rate and latency.
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one attempt.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts counts tries per request, the first one included.
	MaxAttempts int `yaml:"max_attempts"`
	// Auth is "body" (token member in the JSON body) or "bearer"
	// (Authorization header).
	Auth string `yaml:"auth"`
	// Compress is "none" (the default) or "gzip": request bodies sent with
	// Content-Encoding: gzip, for thin links. Whether the API accepts it is
	// not documented; try it with `importer check` and a small --limit run.
	Compress string `yaml:"compress"`
}

// RequestOptions are the API's request options, sent as given. The *bool
// options are sent only when set.
type RequestOptions struct {
	DBID                     int    `yaml:"db_id"`
	Matching                 string `yaml:"matching"`
	ResourceID               int    `yaml:"resource_id"`
	SkipTriggers             *bool  `yaml:"skip_triggers"`
	SkipInvalidSubscriptions *bool  `yaml:"skip_invalid_subscriptions"`
	DetectGeo                *bool  `yaml:"detect_geo"`
	AddToSegments            []int  `yaml:"add_to_segments"`
	RemoveFromSegments       []int  `yaml:"remove_from_segments"`
}

// Input says how to read the file; empty values are detected by the reader.
type Input struct {
	Format    string   `yaml:"format"`    // csv | tsv | jsonl
	Delimiter string   `yaml:"delimiter"` // one character, or "tab"
	Encoding  string   `yaml:"encoding"`  // a WHATWG name: windows-1251, cp1251, utf-16le, ...
	Header    *bool    `yaml:"header"`    // nil = true
	Columns   []string `yaml:"columns"`   // column names when header is false
	// SkipLines is how many lines above the header to skip (a title, a date).
	SkipLines int `yaml:"skip_lines"`
	// StrictQuotes makes a CSV quote inside an unquoted field, or text after
	// a closing quote, a row error instead of a character of the field.
	StrictQuotes bool `yaml:"strict_quotes"`
	// PhoneRegion is the ISO 3166 region of national phone numbers.
	PhoneRegion string `yaml:"phone_region"`
	// Sheet chooses an .xlsx workbook's sheet: a name or a 1-based number;
	// "" = the first sheet.
	Sheet string `yaml:"sheet"`
	// S3 addresses the object store of s3:// inputs; empty fields fall back
	// to the AWS environment variables. Credentials never go here.
	S3 S3 `yaml:"s3"`
}

// S3 is where s3:// inputs are read from.
type S3 struct {
	Endpoint  string `yaml:"endpoint"`   // a URL or host; "" = AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL
	Region    string `yaml:"region"`     // "" = AWS_REGION / AWS_DEFAULT_REGION
	PathStyle bool   `yaml:"path_style"` // bucket in the path (most self-hosted stores)
}

// State configures delta imports (see the importer's --state).
type State struct {
	Path string `yaml:"path"` // the state database; "" = none unless --state
}

// Metrics configures where a run's metrics go (the importer's
// --metrics-push and --metrics-file override them).
type Metrics struct {
	Push string `yaml:"push"` // a Prometheus Pushgateway URL
	File string `yaml:"file"` // a node_exporter textfile collector path
}

// Match holds the matching key specs sent beside data. A nil spec is derived
// from the fields when the matching mode makes it obvious (see
// [Config.Validate]).
type Match struct {
	Email          *Field `yaml:"email"`
	Phone          *Field `yaml:"phone"`
	ProfileID      *Field `yaml:"profile_id"`
	Provider       *Field `yaml:"provider"`
	SubscriptionID *Field `yaml:"subscription_id"`
	FieldValue     *Field `yaml:"field_value"`
	// FieldName names the custom field of custom and custom_sub matching.
	FieldName string `yaml:"field_name"`
}

// Subscription is one entry of data.subscriptions. Only the address specs of
// its channel may be set; the entry is left out of a row whose address is empty.
type Subscription struct {
	Channel        string `yaml:"channel"`
	ResourceID     int    `yaml:"resource_id"`
	Email          *Field `yaml:"email"`           // channel email
	Phone          *Field `yaml:"phone"`           // channels sms, whatsapp, viber, notify
	Provider       *Field `yaml:"provider"`        // channel push
	SubscriptionID *Field `yaml:"subscription_id"` // channel push
	ID             *Field `yaml:"id"`              // channel telegram_bot: cc_data.id
	Status         *Field `yaml:"status"`
	Priority       *Field `yaml:"priority"`
	CustomFields   Fields `yaml:"custom_fields"`
	Cats           *Field `yaml:"cats"`
}

// Fields is an ordered set of named field specs (YAML order kept).
type Fields []NamedField

// NamedField is one entry of [Fields]: the API field name and its spec.
type NamedField struct {
	Name string
	Field
}

// Get returns the spec of the named field, or nil.
func (fs Fields) Get(name string) *Field {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i].Field
		}
	}
	return nil
}

// Field says where a value comes from and how it is converted. In YAML it is
// either a column name (shorthand) or a mapping with the keys below.
type Field struct {
	Column     string     `yaml:"column"`    // CSV header name, or a dotted path into a JSONL object
	Value      *Const     `yaml:"value"`     // a constant instead of a column
	Default    *Const     `yaml:"default"`   // sent when the cell is empty
	Required   bool       `yaml:"required"`  // an empty cell makes the row invalid
	Empty      string     `yaml:"empty"`     // "unset": an empty cell sends {"action":"unset"}
	Transform  StringList `yaml:"transform"` // lower | upper | trim (trim always happens)
	Type       string     `yaml:"type"`      // string int float bool date datetime phone email ip
	Layout     StringList `yaml:"layout"`    // Go time layouts for date and datetime
	Timezone   string     `yaml:"timezone"`  // IANA zone for datetimes written without one
	Split      string     `yaml:"split"`     // separator: the cell becomes a list
	Map        ValueMap   `yaml:"map"`       // value translation, after transforms
	MapDefault *Const     `yaml:"map_default"`
	Validate   string     `yaml:"validate"` // email | phone | ip: check without changing
	Action     string     `yaml:"action"`   // set incr add delete upsert
	Submatch   string     `yaml:"submatch"` // the property path of upsert
}

// Const is a constant from the config: a YAML scalar, whose YAML type is kept
// (5 is sent as a number, "5" as a string, true as a bool), or a list of them.
type Const struct {
	Text string  // the scalar as written
	Tag  string  // its resolved YAML tag: !!str !!int !!float !!bool !!null
	List []Const // the elements, when IsList
	// IsList marks a YAML sequence.
	IsList bool
}

// NewConst returns a string constant, for configs built in code.
func NewConst(s string) *Const { return &Const{Text: s, Tag: "!!str"} }

// StringList is a list of strings that may be written as one scalar.
type StringList []string

// ValueMap is an ordered value translation table.
type ValueMap []MapEntry

// MapEntry translates one cell value.
type MapEntry struct {
	From string
	To   Const
}

// Default returns a Config holding every default; a file is decoded over it.
func Default() *Config {
	return &Config{
		API: API{
			Endpoint:    DefaultEndpoint,
			BatchSize:   DefaultBatchSize,
			Rate:        DefaultRate,
			Timeout:     DefaultTimeout,
			MaxAttempts: DefaultMaxAttempts,
			Auth:        DefaultAuth,
		},
		Request: RequestOptions{Matching: DefaultMatching},
		Input:   Input{PhoneRegion: DefaultPhoneRegion},
	}
}

// Load reads the config file at path, decodes it strictly over [Default] and
// validates it. The error, when it is about the content, is a *[ConfigError]
// listing every problem with its file:line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data, path)
	if c != nil {
		c.Path = path
	}
	return c, err
}

// Parse is [Load] from bytes; name (usually the file name) prefixes messages.
// Unknown keys, wrong types, a token key anywhere and every validation
// problem are reported together in one *[ConfigError].
func Parse(data []byte, name string) (*Config, error) {
	return parseConfig(data, name)
}

// InputOptions returns the reader options the config asks for. Call it on a
// validated Config: an invalid delimiter is left for the reader to sniff.
func (c *Config) InputOptions() input.Options {
	o := input.Options{
		Encoding: c.Input.Encoding,
		NoHeader: c.Input.Header != nil && !*c.Input.Header,
		Columns:  c.Input.Columns,

		SkipLines:    c.Input.SkipLines,
		StrictQuotes: c.Input.StrictQuotes,
		Sheet:        c.Input.Sheet,
	}
	switch strings.ToLower(c.Input.Format) {
	case "csv":
		o.Format = input.FormatCSV
	case "tsv":
		o.Format = input.FormatCSV
		o.Delimiter = '\t'
	case "jsonl":
		o.Format = input.FormatJSONL
	case "xlsx":
		o.Format = input.FormatXLSX
	}
	if c.Input.Delimiter != "" {
		if r, err := parseDelimiter(c.Input.Delimiter); err == nil {
			o.Delimiter = r
		}
	}
	return o
}
