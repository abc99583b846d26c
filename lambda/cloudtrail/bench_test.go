package cloudtrail_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

// BenchmarkDecodeLogFile10k decodes a log file of 10,000 records: the sample records over
// and over with distinct event and endpoint IDs, 2 in 11 of them CreateVpcEndpoint calls.
func BenchmarkDecodeLogFile10k(b *testing.B) {
	const n = 10_000
	templates := allSampleRecords(b)
	records := make([]json.RawMessage, n)
	for i := range records {
		records[i] = edited(b, templates[i%len(templates)], func(fields map[string]any) {
			fields["eventID"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if fields["eventName"] == "CreateVpcEndpoint" {
				response := fields["responseElements"].(map[string]any)["CreateVpcEndpointResponse"].(map[string]any)
				response["vpcEndpoint"].(map[string]any)["vpcEndpointId"] = fmt.Sprintf("vpce-%017x", i)
			}
		})
	}
	plain := logFile(b, records)
	for _, input := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", gzipped(b, plain)}} {
		b.Run(input.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			decoded := 0
			for b.Loop() {
				err := cloudtrail.DecodeLogFile(bytes.NewReader(input.data), func(_ cloudtrail.Call, err error) error {
					decoded++
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if decoded%n != 0 {
				b.Fatalf("decoded %d records, want a multiple of %d", decoded, n)
			}
			b.ReportMetric(float64(decoded)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
