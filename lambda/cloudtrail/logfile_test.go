package cloudtrail_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

// collect runs DecodeLogFile and returns what reached the callback.
func collect(r io.Reader) (calls []cloudtrail.Call, recordErrs []error, err error) {
	err = cloudtrail.DecodeLogFile(r, func(c cloudtrail.Call, err error) error {
		if err != nil {
			recordErrs = append(recordErrs, err)
		} else {
			calls = append(calls, c)
		}
		return nil
	})
	return calls, recordErrs, err
}

// decodeEach decodes every record on its own, the reference a log file must match.
func decodeEach(t *testing.T, records []json.RawMessage) []cloudtrail.Call {
	t.Helper()
	var calls []cloudtrail.Call
	for _, record := range records {
		got, err := cloudtrail.Decode(record)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, got...)
	}
	return calls
}

func TestDecodeLogFileShapes(t *testing.T) {
	t.Parallel()
	records := allSampleRecords(t)
	want := decodeEach(t, records)
	plain := logFile(t, records)
	tests := []struct {
		name  string
		input []byte
	}{
		{"plain", plain},
		{"gzip", gzipped(t, plain)},
		{"other keys around Records", []byte(`{"Digest": {"note": "ignored"}, "Records": ` +
			string(mustMarshal(t, records)) + `, "Trailer": [1, 2]}`)},
		{"array of records", mustMarshal(t, records)},
		{"gzip array of records", gzipped(t, mustMarshal(t, records))},
		{"one record per line", bytes.Join(compacted(t, records), []byte("\n"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, recordErrs, err := collect(bytes.NewReader(tt.input))
			if err != nil || recordErrs != nil {
				t.Fatalf("got %v, %v", err, recordErrs)
			}
			if !reflect.DeepEqual(calls, want) {
				t.Errorf("got %d calls, want %d:\ngot  %+v\nwant %+v", len(calls), len(want), calls, want)
			}
		})
	}
}

func compacted(t *testing.T, records []json.RawMessage) [][]byte {
	t.Helper()
	var lines [][]byte
	for _, record := range records {
		var line bytes.Buffer
		if err := json.Compact(&line, record); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line.Bytes())
	}
	return lines
}

func TestDecodeLogFileEmpty(t *testing.T) {
	t.Parallel()
	calls, recordErrs, err := collect(bytes.NewReader(gzipped(t, []byte(`{"Records": []}`))))
	if calls != nil || recordErrs != nil || err != nil {
		t.Errorf("got %v, %v, %v; want nothing", calls, recordErrs, err)
	}
}

// One bad record must not cost the others.
func TestDecodeLogFileBadRecordAmongGood(t *testing.T) {
	t.Parallel()
	good := sampleRecords(t, "01")[0]
	records := []json.RawMessage{
		good,
		json.RawMessage(`"not a record"`),
		json.RawMessage(`{"eventID": "bad-1", "eventName": "CreateVpcEndpoint", "userIdentity": "alice"}`),
		sampleRecords(t, "04")[0],
	}
	for name, input := range map[string][]byte{"plain": logFile(t, records), "gzip": gzipped(t, logFile(t, records))} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var order []string // what the callback saw, in order
			err := cloudtrail.DecodeLogFile(bytes.NewReader(input), func(c cloudtrail.Call, err error) error {
				if err != nil {
					if !errors.Is(err, cloudtrail.ErrMalformed) {
						t.Errorf("record error %v does not wrap ErrMalformed", err)
					}
					order = append(order, "error: "+err.Error()+" | call: "+c.EventID+" "+c.EventName)
				} else {
					order = append(order, strings.Join(c.EndpointIDs, ","))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"vpce-0ef9277730bf26b70",
				"error: Records[1]: cloudtrail: malformed input: a JSON string, want an object | call:  ",
				`error: Records[2] (eventID "bad-1", eventName "CreateVpcEndpoint"): cloudtrail: malformed input: ` +
					"userIdentity is a JSON string, want an object | call: bad-1 CreateVpcEndpoint",
				"vpce-db0c0ffee984e07fa",
			}
			if !reflect.DeepEqual(order, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
			}
		})
	}

	// Decode keeps the good calls and reports the bad records in its error.
	calls, err := cloudtrail.Decode(logFile(t, records))
	if len(calls) != 2 || !errors.Is(err, cloudtrail.ErrMalformed) || !strings.Contains(err.Error(), "Records[2]") {
		t.Errorf("Decode: got %d calls, %v", len(calls), err)
	}
}

// A cut-off file yields the records before the cut, then an error.
func TestDecodeLogFileTruncated(t *testing.T) {
	t.Parallel()
	records := allSampleRecords(t)
	plain := logFile(t, records)
	all := decodeEach(t, records)
	tests := []struct {
		name  string
		input []byte
	}{
		{"JSON cut inside a record", plain[:len(plain)*2/3]},
		{"JSON cut between records", plain[:bytes.LastIndex(plain, []byte("},{"))+2]},
		{"JSON without its closing brace", plain[:len(plain)-1]},
		{"gzip cut in the middle", gzipped(t, plain)[:len(gzipped(t, plain))/2]},
		{"gzip without its trailer", gzipped(t, plain)[:len(gzipped(t, plain))-8]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, recordErrs, err := collect(bytes.NewReader(tt.input))
			if !errors.Is(err, cloudtrail.ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("got %v, want a malformed input error wrapping io.ErrUnexpectedEOF", err)
			}
			if recordErrs != nil {
				t.Errorf("got record errors %v", recordErrs)
			}
			if len(calls) == 0 || !reflect.DeepEqual(calls, all[:len(calls)]) {
				t.Errorf("got %d calls, want a non-empty prefix of the %d records", len(calls), len(all))
			}
		})
	}
}

func TestDecodeLogFileCorruptGzip(t *testing.T) {
	t.Parallel()
	data := gzipped(t, logFile(t, allSampleRecords(t)))
	data[len(data)-8] ^= 0xff // the CRC-32 in the trailer
	_, _, err := collect(bytes.NewReader(data))
	if !errors.Is(err, cloudtrail.ErrMalformed) || !errors.Is(err, gzip.ErrChecksum) {
		t.Errorf("got %v, want a malformed input error wrapping gzip.ErrChecksum", err)
	}
}

// A failing reader is not bad input: the caller may want to retry.
func TestDecodeLogFileReadError(t *testing.T) {
	t.Parallel()
	errNetwork := errors.New("connection reset")
	plain := logFile(t, allSampleRecords(t))
	r := io.MultiReader(bytes.NewReader(plain[:len(plain)/2]), iotest.ErrReader(errNetwork))
	calls, _, err := collect(r)
	if !errors.Is(err, errNetwork) || errors.Is(err, cloudtrail.ErrMalformed) {
		t.Errorf("got %v, want the reader's error and not ErrMalformed", err)
	}
	// Records before the failure were handed on as they were read.
	if len(calls) == 0 {
		t.Error("got no calls before the read error")
	}
}

func TestDecodeLogFileStopsWhenCallbackFails(t *testing.T) {
	t.Parallel()
	errEnough := errors.New("enough")
	seen := 0
	err := cloudtrail.DecodeLogFile(bytes.NewReader(logFile(t, allSampleRecords(t))), func(cloudtrail.Call, error) error {
		seen++
		if seen == 2 {
			return errEnough
		}
		return nil
	})
	if err != errEnough || seen != 2 {
		t.Errorf("got %v after %d records, want errEnough after 2", err, seen)
	}
}
