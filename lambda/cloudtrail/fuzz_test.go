package cloudtrail_test

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

var validEndpointID = regexp.MustCompile(`^vpce-([0-9a-f]{8}|[0-9a-f]{17})$`)

func FuzzDecode(f *testing.F) {
	for _, prefix := range append(recordSamples, "10") {
		f.Add(sample(f, prefix))
	}
	records := allSampleRecords(f)
	// Small seeds keep the fuzzer's minimization of new inputs quick.
	f.Add(logFile(f, records[3:5]))
	f.Add(gzipped(f, logFile(f, records[4:6])))
	f.Add(envelope(f, "aws.ec2", "111122223333", "eu-west-1", records[0]))
	f.Add(modifyRecord(`{"ModifyVpcEndpointRequest": {"VpcEndpointId": [{"tag": 1, "content": "vpce-1a2b3c4d"}, "vpce-0123456789abcdef0"], "ResetPolicy": "true"}}`))
	f.Add([]byte(`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		calls, err := cloudtrail.Decode(data)
		// Reading from memory cannot fail, so every error is about the input.
		if err != nil && !errors.Is(err, cloudtrail.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		for _, c := range calls {
			asks := 0
			for _, b := range []bool{c.Sweep, len(c.EndpointIDs) > 0, c.SkipReason != ""} {
				if b {
					asks++
				}
			}
			if asks != 1 {
				t.Fatalf("want exactly one of Sweep, EndpointIDs and SkipReason, got %+v", c)
			}
			for _, id := range c.EndpointIDs {
				if !validEndpointID.MatchString(id) {
					t.Fatalf("invalid endpoint ID %q passed on", id)
				}
			}
			if !slices.IsSorted(c.EndpointIDs) || len(slices.Compact(slices.Clone(c.EndpointIDs))) != len(c.EndpointIDs) {
				t.Fatalf("endpoint IDs %q are not sorted and distinct", c.EndpointIDs)
			}
		}
		again, errAgain := cloudtrail.Decode(data)
		if !reflect.DeepEqual(calls, again) || (err == nil) != (errAgain == nil) {
			t.Fatalf("decoding twice gave different results")
		}
	})
}
