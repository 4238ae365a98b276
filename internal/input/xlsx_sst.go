package input

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// sstMemory is how many bytes of shared strings are kept in memory; a
// larger table goes to a temporary file and is read back string by string.
// A variable so that tests reach the file with a small workbook.
var sstMemory int64 = 4 << 20

// maxSST bounds the shared string table's text: the offsets are 32-bit.
const maxSST = 1<<32 - 1

// sharedStrings is the workbook's shared string table, held as one run of
// text and the end offset of each string: 4 bytes of memory a string, so a
// 500 000-row export with four unique text columns costs 8 MB of offsets
// (a table of string headers would cost six times that). The text stays in
// memory up to sstMemory bytes, beyond that in a temporary file that is
// unlinked at once (and closed by close).
type sharedStrings struct {
	ends []uint32
	mem  []byte
	file *os.File
	w    *bufio.Writer
	size int64
	buf  []byte
}

// readSST streams the shared strings part into a sharedStrings. Rich text
// runs are joined; phonetic hints (rPh) are not part of the text.
func readSST(rc io.Reader) (*sharedStrings, error) {
	s := &sharedStrings{}
	dec := xml.NewDecoder(rc)
	var text strings.Builder
	inSI, inT, phonetic := false, false, 0
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%w: the workbook is damaged: shared strings: %v", ErrFormat, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI = true
				text.Reset()
			case "rPh":
				phonetic++
			case "t":
				inT = inSI && phonetic == 0
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if err := s.add(decodeXString(text.String())); err != nil {
					s.close()
					return nil, err
				}
				inSI = false
			case "rPh":
				phonetic--
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				text.Write(t)
			}
		}
	}
	if s.w != nil {
		if err := s.w.Flush(); err != nil {
			s.close()
			return nil, fmt.Errorf("shared strings: %w", err)
		}
	}
	return s, nil
}

func (s *sharedStrings) add(v string) error {
	if s.size+int64(len(v)) > maxSST {
		return fmt.Errorf("%w: the shared string table is over 4 GiB: save the sheet as CSV", ErrFormat)
	}
	if s.file == nil && s.size+int64(len(v)) > sstMemory {
		f, err := os.CreateTemp("", "importer-sst-*")
		if err != nil {
			return fmt.Errorf("shared strings: %w", err)
		}
		os.Remove(f.Name()) // the open file keeps its data; nothing is left behind on a crash
		s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
		if _, err := s.w.Write(s.mem); err != nil {
			return fmt.Errorf("shared strings: %w", err)
		}
		s.mem = nil
	}
	if s.file != nil {
		if _, err := s.w.WriteString(v); err != nil {
			return fmt.Errorf("shared strings: %w", err)
		}
	} else {
		s.mem = append(s.mem, v...)
	}
	s.size += int64(len(v))
	s.ends = append(s.ends, uint32(s.size))
	return nil
}

// get returns string i; ok is false when the table has no such string.
func (s *sharedStrings) get(i int) (string, bool, error) {
	if s == nil || i < 0 || i >= len(s.ends) {
		return "", false, nil
	}
	start := int64(0)
	if i > 0 {
		start = int64(s.ends[i-1])
	}
	end := int64(s.ends[i])
	if s.file == nil {
		return string(s.mem[start:end]), true, nil
	}
	if n := int(end - start); cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:end-start]
	if _, err := s.file.ReadAt(b, start); err != nil {
		return "", false, fmt.Errorf("shared strings: %w", err)
	}
	return string(b), true, nil
}

func (s *sharedStrings) close() error {
	if s == nil || s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}
