package metrics_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/lambda/metrics"
)

var fixed = func() time.Time { return time.UnixMilli(1700000000123) }

func TestWriteEMF(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := metrics.NewWriter(&out, metrics.Namespace, fixed)
	err := w.Write([]metrics.Dimension{{Name: "Service", Value: "logs"}}, []metrics.Value{
		{Name: "EndpointsChecked", Value: 3, Unit: metrics.UnitCount},
		{Name: "Rewritten", Value: 1, Unit: metrics.UnitCount},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"EndpointsChecked":3,"Rewritten":1,"Service":"logs","_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"vpce-guard","Dimensions":[["Service"]],"Metrics":[{"Name":"EndpointsChecked","Unit":"Count"},{"Name":"Rewritten","Unit":"Count"}]}]}}` + "\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// Each record is one line holding one JSON object, which is what CloudWatch
// Logs looks for, also when goroutines write at once.
func TestOneObjectPerLine(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := metrics.NewWriter(&out, "ns", fixed)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if err := w.Write(nil, []metrics.Value{{Name: "Errors", Value: 1, Unit: metrics.UnitCount}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, line := range lines {
		var record struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
				}
			} `json:"_aws"`
			Errors float64
		}
		if err := json.Unmarshal([]byte(line), &record); err != nil || record.Errors != 1 ||
			record.AWS.CloudWatchMetrics[0].Namespace != "ns" || len(record.AWS.CloudWatchMetrics[0].Dimensions) != 1 {
			t.Fatalf("line %q: %v", line, err)
		}
	}
}

func TestWriteRefusesAmbiguousRecords(t *testing.T) {
	t.Parallel()
	w := metrics.NewWriter(&bytes.Buffer{}, "ns", fixed)
	tests := map[string]struct {
		dims   []metrics.Dimension
		values []metrics.Value
	}{
		"no value":              {nil, nil},
		"a name used twice":     {[]metrics.Dimension{{Name: "Errors", Value: "x"}}, []metrics.Value{{Name: "Errors", Value: 1}}},
		"the reserved _aws key": {nil, []metrics.Value{{Name: "_aws", Value: 1}}},
		"an empty name":         {nil, []metrics.Value{{Name: "", Value: 1}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := w.Write(tt.dims, tt.values); err == nil {
				t.Error("no error")
			}
		})
	}
}
