package bench

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// configs are the mapping configs of the scenarios, written next to the
// data so that every command in the report runs as printed.
//
//go:embed testdata/*.yaml
var configs embed.FS

// Mapping configs by name: testdata/NAME.yaml.
const (
	MapText        = "text"         // every column as plain text
	MapPhone       = "phone"        // text, with the phone column parsed to E.164
	MapFull        = "full"         // the realistic import: types, maps, subscriptions
	MapMapped      = "mapped"       // the CPU target's 10-column mapping, phone as text (hand.go's)
	MapMappedPhone = "mapped-phone" // mapped, with the phone parsed
)

// mapNames are the configs writeConfigs writes.
var mapNames = []string{MapText, MapPhone, MapFull, MapMapped, MapMappedPhone}

// writeConfigs copies the embedded configs into dir and returns their paths
// by name.
func writeConfigs(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range mapNames {
		b, err := configs.ReadFile("testdata/" + name + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("configs: %w", err)
		}
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, fmt.Errorf("configs: %w", err)
		}
		out[name] = p
	}
	return out, nil
}

// dataMeta is kept beside a generated file (NAME.meta.json) so a later run
// reuses the file only when it was made with the same options and is whole.
type dataMeta struct {
	Options GenOptions `json:"options"`
	Stats   GenStats   `json:"stats"`
}

// ensureData returns a generated file at path made with opt, generating it
// unless the file and its meta show it already is. reused says which.
func ensureData(path string, opt GenOptions) (st GenStats, reused bool, err error) {
	metaPath := path + ".meta.json"
	if b, err := os.ReadFile(metaPath); err == nil {
		var m dataMeta
		if json.Unmarshal(b, &m) == nil && m.Options == opt {
			if fi, err := os.Stat(path); err == nil && fi.Size() == m.Stats.Bytes {
				return m.Stats, true, nil
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return GenStats{}, false, fmt.Errorf("data %s: %w", path, err)
	}
	// The meta goes first and last: removed before writing, so a crash
	// mid-way leaves a file that is never mistaken for a whole one.
	if err := os.Remove(metaPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return GenStats{}, false, fmt.Errorf("data %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return GenStats{}, false, fmt.Errorf("data: %w", err)
	}
	st, err = Generate(f, opt)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("data %s: %w", path, cerr)
	}
	if err != nil {
		return GenStats{}, false, err
	}
	b, err := json.MarshalIndent(dataMeta{Options: opt, Stats: st}, "", "  ")
	if err != nil {
		return GenStats{}, false, fmt.Errorf("data %s: %w", path, err)
	}
	if err := os.WriteFile(metaPath, b, 0o644); err != nil {
		return GenStats{}, false, fmt.Errorf("data %s: %w", path, err)
	}
	return st, false, nil
}
