package cloudtrail

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Decode decodes an EventBridge event, a CloudTrail record, a CloudTrail log file (plain
// or gzip) or a scheduled event, and returns one Call per record.
//
// A log file with some unreadable records still yields the others: Decode returns the
// calls it could read together with an error that joins one error per bad record.
// Use [DecodeLogFile] for large files.
func Decode(data []byte) ([]Call, error) {
	var calls []Call
	var errs []error
	err := DecodeLogFile(bytes.NewReader(data), func(c Call, err error) error {
		if err != nil {
			errs = append(errs, err)
		} else {
			calls = append(calls, c)
		}
		return nil
	})
	return calls, errors.Join(append(errs, err)...)
}

// DecodeLogFile reads a CloudTrail log file from r as a stream, plain or gzip, and calls
// fn once per record, so memory stays bounded by the largest record. It accepts every
// shape [Decode] does, so a command line can hand it any file.
//
// A record that cannot be decoded reaches fn as an error wrapping [ErrMalformed], with a
// Call holding whatever EventID and EventName could be read; the records after it are
// still decoded. Input that cannot be read any further (invalid JSON, truncated gzip)
// ends the stream with an error. If fn returns an error, DecodeLogFile stops and returns
// that error unchanged.
func DecodeLogFile(r io.Reader, fn func(Call, error) error) error {
	in, err := uncompressed(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(in)
	dec.UseNumber() // a top-level 1e700 is bad input, not a float64 overflow
	s := &stream{dec: dec, fn: fn}
	for {
		tok, err := s.dec.Token()
		if err == io.EOF {
			if s.values == 0 {
				return fmt.Errorf("%w: no JSON value in the input", ErrMalformed)
			}
			return nil
		}
		if err != nil {
			return s.fail(err)
		}
		s.values++
		switch tok {
		case json.Delim('{'):
			err = s.object()
		case json.Delim('['):
			err = s.list("")
		default:
			err = fmt.Errorf("%w: the input is %s, want an object or an array", ErrMalformed, tokenKind(tok))
		}
		if err != nil {
			return err
		}
	}
}

var gzipMagic = []byte{0x1f, 0x8b}

// uncompressed looks at the first bytes rather than at a file name, because S3 objects
// and test fixtures are not always named for what they hold.
func uncompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(len(gzipMagic))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}
	if !bytes.Equal(magic, gzipMagic) {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip header: %w: %w", ErrMalformed, unexpectedEOF(err))
	}
	return zr, nil
}

// stream walks the JSON tokens of the input and hands each record to fn.
type stream struct {
	dec    *json.Decoder
	fn     func(Call, error) error
	values int // top-level JSON values started so far
}

// object reads a top-level object: a log file whose Records are streamed one by one, or
// else a single event or record.
func (s *stream) object() error {
	fields := map[string]json.RawMessage{}
	isLogFile := false
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return s.fail(err)
		}
		key, _ := tok.(string) // the decoder only yields strings in key position
		if key == "Records" {
			isLogFile = true
			if err := s.records(); err != nil {
				return err
			}
			continue
		}
		var value json.RawMessage
		if err := s.dec.Decode(&value); err != nil {
			return s.fail(err)
		}
		fields[key] = value
	}
	if err := s.end(); err != nil {
		return err
	}
	if isLogFile {
		return nil
	}
	// A single event is small: re-encoding the fields read so far is simpler than a
	// second decoder, and cannot fail on values that were just decoded.
	raw, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s.item(raw, "", -1)
}

func (s *stream) records() error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.fail(err)
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("%w: Records is %s, want an array", ErrMalformed, tokenKind(tok))
	}
	return s.list("Records")
}

// list reads the members of an array, one record at a time.
func (s *stream) list(name string) error {
	for i := 0; s.dec.More(); i++ {
		var raw json.RawMessage
		if err := s.dec.Decode(&raw); err != nil {
			return s.fail(err)
		}
		if err := s.item(raw, name, i); err != nil {
			return err
		}
	}
	return s.end()
}

// end consumes the closing bracket of the array or object being read.
func (s *stream) end() error {
	if _, err := s.dec.Token(); err != nil {
		return s.fail(err)
	}
	return nil
}

// item decodes one record and passes it to fn. index is its place in the array called
// name, or -1 for a top-level object.
func (s *stream) item(raw json.RawMessage, name string, index int) error {
	call, err := decodeItem(raw)
	if err != nil {
		id, eventName := identify(raw)
		call = Call{EventID: id, EventName: eventName}
		err = fmt.Errorf("%s: %w", s.describe(name, index, call), err)
	}
	return s.fn(call, err)
}

// describe names a record in an error message: where it is and what could be read of it.
func (s *stream) describe(name string, index int, c Call) string {
	var b strings.Builder
	if s.values > 1 {
		fmt.Fprintf(&b, "value %d, ", s.values)
	}
	if index < 0 {
		b.WriteString("event")
	} else {
		fmt.Fprintf(&b, "%s[%d]", name, index)
	}
	switch {
	case c.EventID != "" && c.EventName != "":
		fmt.Fprintf(&b, " (eventID %s, eventName %s)", quote(c.EventID), quote(c.EventName))
	case c.EventID != "":
		fmt.Fprintf(&b, " (eventID %s)", quote(c.EventID))
	case c.EventName != "":
		fmt.Fprintf(&b, " (eventName %s)", quote(c.EventName))
	}
	return b.String()
}

// fail wraps an error that stops the stream with the position reached.
func (s *stream) fail(err error) error {
	err = unexpectedEOF(err)
	if isMalformedStream(err) {
		return fmt.Errorf("at byte %d: %w: %w", s.dec.InputOffset(), ErrMalformed, err)
	}
	return fmt.Errorf("read at byte %d: %w", s.dec.InputOffset(), err)
}

// unexpectedEOF reports io.EOF as io.ErrUnexpectedEOF: it only reaches here from inside
// a value, where the end of the input means the input was cut short.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// isMalformedStream tells bad input apart from a failing reader, which is worth a retry.
func isMalformedStream(err error) bool {
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	var corrupt flate.CorruptInputError
	return errors.As(err, &syntax) || errors.As(err, &wrongType) || errors.As(err, &corrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader)
}

// tokenKind names the type of the value a token starts, for a message.
func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return "a JSON object"
		}
		return "a JSON array"
	case string:
		return "a JSON string"
	case json.Number:
		return "a JSON number"
	case bool:
		return "a JSON boolean"
	}
	return "JSON null"
}
