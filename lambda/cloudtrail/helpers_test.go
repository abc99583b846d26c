package cloudtrail_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// sample reads the testdata file whose name starts with prefix, e.g. "01".
func sample(t testing.TB, prefix string) []byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", prefix+"_*.json"))
	if err != nil || len(names) != 1 {
		t.Fatalf("want one testdata file named %s_*.json, found %v (%v)", prefix, names, err)
	}
	data, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// recordSamples are the samples holding bare CloudTrail records, one or an array of them.
var recordSamples = []string{"01", "02", "03", "04", "05", "06", "07", "08", "09"}

// sampleRecords returns the records of a sample that holds one record or an array of them.
func sampleRecords(t testing.TB, prefix string) []json.RawMessage {
	t.Helper()
	data := sample(t, prefix)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		var records []json.RawMessage
		if err := json.Unmarshal(data, &records); err != nil {
			t.Fatal(err)
		}
		return records
	}
	return []json.RawMessage{data}
}

// allSampleRecords returns every record of every record sample, in file order.
func allSampleRecords(t testing.TB) []json.RawMessage {
	t.Helper()
	var all []json.RawMessage
	for _, prefix := range recordSamples {
		all = append(all, sampleRecords(t, prefix)...)
	}
	return all
}

// envelope wraps a record the way EventBridge delivers it to the Lambda.
func envelope(t testing.TB, source, account, region string, detail json.RawMessage) []byte {
	t.Helper()
	return mustMarshal(t, map[string]any{
		"version":     "0",
		"id":          "7bf73129-1428-4cd3-a780-95db273d1602",
		"detail-type": "AWS API Call via CloudTrail",
		"source":      source,
		"account":     account,
		"time":        "2024-05-02T10:00:00Z",
		"region":      region,
		"resources":   []string{},
		"detail":      detail,
	})
}

// logFile builds a CloudTrail log file as delivered to S3.
func logFile(t testing.TB, records []json.RawMessage) []byte {
	t.Helper()
	if records == nil {
		records = []json.RawMessage{}
	}
	return mustMarshal(t, map[string]any{"Records": records})
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// edited returns a copy of a JSON object with edit applied to its top-level fields.
func edited(t testing.TB, data []byte, edit func(fields map[string]any)) []byte {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	edit(fields)
	return mustMarshal(t, fields)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
