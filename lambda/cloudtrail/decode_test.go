package cloudtrail_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

// outcome is the part of a Call that decides what happens next.
type outcome struct {
	EventID     string
	EventName   string
	Account     string
	Region      string
	EndpointIDs []string
	SkipReason  string
}

func outcomeOf(c cloudtrail.Call) outcome {
	return outcome{c.EventID, c.EventName, c.Account, c.Region, c.EndpointIDs, c.SkipReason}
}

func TestDecodeSamples(t *testing.T) {
	t.Parallel()
	const notHandled = " is neither CreateVpcEndpoint nor ModifyVpcEndpoint"
	tests := []struct {
		sample string
		want   []outcome
	}{
		{"01", []outcome{{"a3dc47d9-6d40-45da-b496-a435083c68bc", "CreateVpcEndpoint", "999999999999", "ap-northeast-1",
			[]string{"vpce-0ef9277730bf26b70"}, ""}}},
		{"02", []outcome{{"325e694c-c7d7-45d8-8d5b-134922b5e495", "DeleteVpcEndpoints", "999999999999", "ap-northeast-1",
			nil, `event "DeleteVpcEndpoints"` + notHandled}}},
		// The record's top-level vpcEndpointId is the endpoint the call went through,
		// not one it changed: it must not show up as an endpoint ID.
		{"03", []outcome{{"be4f783b-087d-4219-9aec-fa52c710b7c9", "DeleteLaunchTemplate", "999999999999", "ap-northeast-1",
			nil, `event "DeleteLaunchTemplate"` + notHandled}}},
		// Trimmed by its publisher: no recipientAccountId, so no account.
		{"04", []outcome{{"089ca63b-f6f9-4e75-aec7-8e68ddee34a4", "CreateVpcEndpoint", "", "us-east-1",
			[]string{"vpce-db0c0ffee984e07fa"}, ""}}},
		{"05", []outcome{{"c33224f7-985c-4d08-82a8-b8d1d3eb905e", "CancelCapacityReservation", "", "us-east-1",
			nil, `event "CancelCapacityReservation"` + notHandled}}},
		{"06", []outcome{{"330058a1-2ba0-45de-bd49-b878f829f424", "DescribeLaunchTemplates", "", "us-east-1",
			nil, `event "DescribeLaunchTemplates"` + notHandled}}},
		{"07", []outcome{
			{"1a4debbb-12e9-4bde-b8c7-ea29002bb2a7", "RunInstances", "900138736586", "ca-south-3r",
				nil, `event "RunInstances"` + notHandled},
			{"04c882a5-7652-40d1-b44c-83535fc19268", "AssumeRole", "900138736586", "ca-south-3r",
				nil, `event source "sts.amazonaws.com" is not ec2.amazonaws.com`},
			{"9a6353be-6cb8-4a0c-ab85-a46dbd3a2b71", "AssumeRole", "900138736586", "ca-south-3r",
				nil, `event source "sts.amazonaws.com" is not ec2.amazonaws.com`},
		}},
		{"08", []outcome{{"ded2f5af-f3a5-46d2-a170-a23206a32c36", "DeleteFlowLogs", "498376118699", "megov-south-1r",
			nil, `event "DeleteFlowLogs"` + notHandled}}},
		{"09", []outcome{{"a48b1eeb-487d-42c8-914f-01805efc4982", "DescribeInstanceTypes", "", "us-east-1",
			nil, `event "DescribeInstanceTypes"` + notHandled}}},
		{"10", []outcome{{"6eaf994a-87d2-4b8a-a688-be5fb4b3e3cf", "ModifyInstanceAttribute", "753920291680", "us-east-1",
			nil, `event "ModifyInstanceAttribute"` + notHandled}}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(sample(t, tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			var got []outcome
			for _, c := range calls {
				got = append(got, outcomeOf(c))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// consoleBrowser is the caller of sample 04, whose publisher kept only its user agent.
var consoleBrowser = cloudtrail.Caller{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36 Edg/118.0.2088.46"}

func TestDecodeSampleDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sample string
		check  func(t *testing.T, c cloudtrail.Call)
	}{
		{"policy in the request", "01", func(t *testing.T, c cloudtrail.Call) {
			want := cloudtrail.Caller{Type: "IAMUser", ARN: "arn:aws:iam::999999999999:user/test001@test.com",
				AccountID: "999999999999", PrincipalID: "AIDA2KEX3JLIYUA7ET75O", UserAgent: "console.ec2.amazonaws.com"}
			if c.Caller != want || !c.SetsPolicy || c.ResetsPolicy || c.EventTime != "2021-04-27T03:27:10Z" {
				t.Errorf("got %+v", c)
			}
		}},
		{"no policy in the request", "04", func(t *testing.T, c cloudtrail.Call) {
			if c.SetsPolicy || c.Caller != consoleBrowser {
				t.Errorf("got %+v", c)
			}
		}},
		{"service-linked role keeps its path", "03", func(t *testing.T, c cloudtrail.Call) {
			if c.Caller.SessionIssuerARN != "arn:aws:iam::999999999999:role/aws-service-role/mgn.amazonaws.com/AWSServiceRoleForApplicationMigrationService" ||
				c.Caller.InvokedBy != "mgn.amazonaws.com" || c.Caller.Type != "AssumedRole" {
				t.Errorf("got %+v", c.Caller)
			}
		}},
		{"failed call", "06", func(t *testing.T, c cloudtrail.Call) {
			if c.ErrorCode != "Client.InvalidParameterValue" || c.ErrorMessage != "The filter 'LaunchTemplateName' is invalid" {
				t.Errorf("got %+v", c)
			}
		}},
		{"lambda's own role behind the STS ARN", "10", func(t *testing.T, c cloudtrail.Call) {
			want := cloudtrail.Caller{Type: "AssumedRole",
				ARN:              "arn:aws:sts::753920291680:assumed-role/bu-pw-lambda-cloudops/sam-OpsGuardian-EC2",
				AccountID:        "753920291680",
				PrincipalID:      "AROAIBY7OLUDPY6JZWQTM:sam-OpsGuardian-EC2",
				SessionIssuerARN: "arn:aws:iam::753920291680:role/hq/bu-pw-lambda-cloudops",
				UserAgent:        "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.233-244.887.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.145"}
			if c.Caller != want {
				t.Errorf("got  %+v\nwant %+v", c.Caller, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(sample(t, tt.sample))
			if err != nil || len(calls) != 1 {
				t.Fatalf("got %d calls, %v", len(calls), err)
			}
			tt.check(t, calls[0])
		})
	}
}

// A record reads the same bare or in an EventBridge envelope, except that the envelope
// supplies the account and region a trimmed record lacks.
func TestDecodeRecordInEnvelope(t *testing.T) {
	t.Parallel()
	for _, prefix := range recordSamples {
		for i, record := range sampleRecords(t, prefix) {
			t.Run(fmt.Sprintf("%s/%d", prefix, i), func(t *testing.T) {
				t.Parallel()
				bare, err := cloudtrail.Decode(record)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cloudtrail.Decode(envelope(t, "aws.ec2", "111122223333", "eu-west-1", record))
				if err != nil {
					t.Fatal(err)
				}
				want := bare[0]
				if want.Account == "" {
					want.Account = "111122223333"
				}
				if want.Region == "" {
					want.Region = "eu-west-1"
				}
				if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
			})
		}
	}
}

func TestDecodeEnvelopes(t *testing.T) {
	t.Parallel()
	create := sampleRecords(t, "04")[0]
	tests := []struct {
		name  string
		event []byte
		want  cloudtrail.Call
	}{
		{
			name: "scheduled sweep",
			event: []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
				"source":"aws.events","account":"123456789012","time":"2024-05-02T06:00:00Z","region":"eu-west-1",
				"resources":["arn:aws:events:eu-west-1:123456789012:rule/vpce-guard-sweep"],"detail":{}}`),
			want: cloudtrail.Call{EventID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", EventSource: "aws.events",
				EventTime: "2024-05-02T06:00:00Z", Account: "123456789012", Region: "eu-west-1", Sweep: true},
		},
		{
			name: "schedule from a custom source",
			event: []byte(`{"id":"e1","detail-type":"Scheduled Event","source":"my.app","account":"123456789012",
				"time":"2024-05-02T06:00:00Z","region":"eu-west-1","detail":{}}`),
			want: cloudtrail.Call{EventID: "e1", EventSource: "my.app", EventTime: "2024-05-02T06:00:00Z",
				Account: "123456789012", Region: "eu-west-1",
				SkipReason: `EventBridge event type "Scheduled Event" from "my.app" is not handled`},
		},
		{
			name:  "other detail type",
			event: []byte(`{"id":"e2","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}`),
			want: cloudtrail.Call{EventID: "e2", EventSource: "aws.ec2",
				SkipReason: `EventBridge event type "EC2 Instance State-change Notification" from "aws.ec2" is not handled`},
		},
		{
			name:  "CreateVpcEndpoint",
			event: envelope(t, "aws.ec2", "200802171337", "us-east-1", create),
			want: cloudtrail.Call{EventID: "089ca63b-f6f9-4e75-aec7-8e68ddee34a4", EventName: "CreateVpcEndpoint",
				EventSource: "ec2.amazonaws.com", EventTime: "2023-11-30T07:19:13Z", Account: "200802171337",
				Region: "us-east-1", EndpointIDs: []string{"vpce-db0c0ffee984e07fa"}, Caller: consoleBrowser},
		},
		{
			// Anyone allowed PutEvents can claim this detail-type, but not the aws.ec2 source.
			name:  "CreateVpcEndpoint from a custom source",
			event: envelope(t, "my.app", "200802171337", "us-east-1", create),
			want: cloudtrail.Call{EventID: "089ca63b-f6f9-4e75-aec7-8e68ddee34a4", EventName: "CreateVpcEndpoint",
				EventSource: "ec2.amazonaws.com", EventTime: "2023-11-30T07:19:13Z", Account: "200802171337",
				Region: "us-east-1", SkipReason: `EventBridge source "my.app" is not aws.ec2`, Caller: consoleBrowser},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 || !reflect.DeepEqual(calls[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", calls, tt.want)
			}
		})
	}
}

// modifyRecord synthesizes a ModifyVpcEndpoint record, a call no public sample shows, with
// the request parameters given and a response shaped like sample 05's wrapped "return".
func modifyRecord(requestParameters string) []byte {
	return []byte(`{
		"eventVersion": "1.09", "eventTime": "2024-05-02T10:00:00Z", "eventSource": "ec2.amazonaws.com",
		"eventName": "ModifyVpcEndpoint", "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
		"eventID": "0b1c6e1a-1df4-4d1a-9a4f-6f0c2d9a7b11",
		"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/admin/alice"},
		"requestParameters": ` + requestParameters + `,
		"responseElements": {"ModifyVpcEndpointResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
			"return": true, "requestId": "8f0e2a5c-3a4b-4d8e-9f61-0c3b9e0d6a42"}}}`)
}

func TestDecodeModifyVpcEndpoint(t *testing.T) {
	t.Parallel()
	const id17, id8 = "vpce-0123456789abcdef0", "vpce-1a2b3c4d"
	tests := []struct {
		name         string
		params       string
		wantIDs      []string
		wantSets     bool
		wantResets   bool
		wantSkip     string
		wantWarnings int
	}{
		{name: "plain string", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": "` + id17 + `", "ResetPolicy": true}}`,
			wantIDs: []string{id17}, wantResets: true},
		{name: "tag and content", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": {"tag": 1, "content": "` + id17 + `"},
			"PolicyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}}`,
			wantIDs: []string{id17}, wantSets: true},
		{name: "list of both, with a duplicate", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": [
			{"tag": 1, "content": "` + id8 + `"}, "` + id17 + `", {"tag": 3, "content": "` + id8 + `"}]}}`,
			wantIDs: []string{id17, id8}},
		{name: "ResetPolicy as a string", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": "` + id8 + `", "ResetPolicy": "true"}}`,
			wantIDs: []string{id8}, wantResets: true},
		{name: "ResetPolicy false", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": "` + id8 + `", "ResetPolicy": "false"}}`,
			wantIDs: []string{id8}},
		{name: "unwrapped camelCase request", params: `{"vpcEndpointId": "` + id8 + `", "resetPolicy": true}`,
			wantIDs: []string{id8}, wantResets: true},
		{name: "uppercase hex", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0123456789ABCDEF0"}}`,
			wantSkip:     `no valid endpoint ID: dropped "vpce-0123456789ABCDEF0": not vpce- followed by 8 or 17 lowercase hex digits`,
			wantWarnings: 1},
		{name: "one valid, two invalid", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": ["vpce-123", "` + id8 + `", "vpc-0123456789abcdef0"]}}`,
			wantIDs: []string{id8}, wantWarnings: 2},
		{name: "content coerced to a boolean", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": {"tag": 1, "content": true}}}`,
			wantSkip: "no valid endpoint ID: dropped true: not a string", wantWarnings: 1},
		{name: "object without content", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": {"tag": 1}}}`,
			wantSkip: "no valid endpoint ID: dropped an object without content", wantWarnings: 1},
		{name: "empty list", params: `{"ModifyVpcEndpointRequest": {"VpcEndpointId": "", "ResetPolicy": true}}`,
			wantResets: true, wantSkip: "no endpoint ID in the record"},
		{name: "no request parameters", params: `null`, wantSkip: "no endpoint ID in the record"},
		{name: "request parameters of the wrong type", params: `"ModifyVpcEndpoint"`, wantSkip: "no endpoint ID in the record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(modifyRecord(tt.params))
			if err != nil || len(calls) != 1 {
				t.Fatalf("got %d calls, %v", len(calls), err)
			}
			c := calls[0]
			if !reflect.DeepEqual(c.EndpointIDs, tt.wantIDs) || c.SkipReason != tt.wantSkip ||
				c.SetsPolicy != tt.wantSets || c.ResetsPolicy != tt.wantResets || len(c.Warnings) != tt.wantWarnings {
				t.Errorf("got ids %q, sets %v, resets %v, skip %q, warnings %q", c.EndpointIDs, c.SetsPolicy,
					c.ResetsPolicy, c.SkipReason, c.Warnings)
			}
			if c.EventName != "ModifyVpcEndpoint" || c.Account != "111122223333" || c.Region != "eu-west-1" ||
				c.Caller.ARN != "arn:aws:sts::111122223333:assumed-role/admin/alice" {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestDecodeFailedCalls(t *testing.T) {
	t.Parallel()
	failed := func(fields map[string]any) {
		fields["errorCode"] = "Client.UnauthorizedOperation"
		fields["errorMessage"] = "You are not authorized to perform this operation."
		fields["responseElements"] = nil
	}
	tests := []struct {
		name   string
		record []byte
	}{
		{"CreateVpcEndpoint", edited(t, sample(t, "01"), failed)},
		{"ModifyVpcEndpoint", edited(t, modifyRecord(`{"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-1a2b3c4d"}}`), failed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(tt.record)
			if err != nil || len(calls) != 1 {
				t.Fatalf("got %d calls, %v", len(calls), err)
			}
			c := calls[0]
			if c.SkipReason != `the call failed with "Client.UnauthorizedOperation"` || c.EndpointIDs != nil ||
				c.ErrorCode != "Client.UnauthorizedOperation" {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestDecodeCreateWithInvalidID(t *testing.T) {
	t.Parallel()
	record := edited(t, sample(t, "04"), func(fields map[string]any) {
		response := fields["responseElements"].(map[string]any)["CreateVpcEndpointResponse"].(map[string]any)
		response["vpcEndpoint"].(map[string]any)["vpcEndpointId"] = "vpce-db0c0ffee984e07fa; rm -rf /"
	})
	calls, err := cloudtrail.Decode(record)
	if err != nil || len(calls) != 1 {
		t.Fatalf("got %d calls, %v", len(calls), err)
	}
	if c := calls[0]; c.EndpointIDs != nil || !strings.HasPrefix(c.SkipReason, `no valid endpoint ID: dropped "vpce-db0c0ffee984e07fa; rm -rf /"`) {
		t.Errorf("got %+v", c)
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	create := sampleRecords(t, "01")[0]
	tests := []struct {
		name  string
		input []byte
		want  []string // parts of the error message
	}{
		{"empty", nil, []string{"no JSON value"}},
		{"white space", []byte(" \n\t"), []string{"no JSON value"}},
		{"not JSON", []byte("CreateVpcEndpoint"), []string{"at byte 0", "invalid character"}},
		{"truncated", create[:len(create)/2], []string{"unexpected EOF"}},
		{"string", []byte(`"vpce-0ef9277730bf26b70"`), []string{"JSON string, want an object or an array"}},
		{"number", []byte(`42`), []string{"JSON number, want an object or an array"}},
		{"null", []byte(`null`), []string{"input is JSON null, want an object or an array"}},
		{"empty object", []byte(`{}`), []string{"neither an EventBridge event", "nor a CloudTrail record"}},
		{"envelope with a string detail", []byte(`{"id":"e-41","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":"{}"}`),
			[]string{`event (eventID "e-41")`, "detail is a JSON string, want an object"}},
		{"envelope without detail", []byte(`{"id":"e-42","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2"}`),
			[]string{`eventID "e-42"`, "detail is missing, want an object"}},
		{"envelope with a bad record", envelope(t, "aws.ec2", "", "", []byte(`{"eventID":"r-1","eventName":"CreateVpcEndpoint","userIdentity":[]}`)),
			[]string{`eventID "r-1", eventName "CreateVpcEndpoint"`, "detail: userIdentity is a JSON array, want an object"}},
		{"record with a bad field", []byte(`{"eventID":"r-2","eventName":"ModifyVpcEndpoint","awsRegion":{"name":"eu-west-1"}}`),
			[]string{`eventID "r-2", eventName "ModifyVpcEndpoint"`, "awsRegion is a JSON object"}},
		{"Records not an array", []byte(`{"Records":{"eventName":"CreateVpcEndpoint"}}`), []string{"Records is a JSON object, want an array"}},
		{"array of strings", []byte(`["a"]`), []string{"[0]: ", "a JSON string, want an object"}},
		{"gzip magic, no gzip", []byte("\x1f\x8b not gzip"), []string{"gzip header"}},
		{"truncated gzip", gzipped(t, create)[:30], []string{"unexpected EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(tt.input)
			if !errors.Is(err, cloudtrail.ErrMalformed) {
				t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
			}
			if len(calls) != 0 {
				t.Errorf("got calls %+v, want none", calls)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

// What follows a complete value is read as the next value: garbage there is an error,
// but the call read before it is kept.
func TestDecodeTrailingGarbage(t *testing.T) {
	t.Parallel()
	input := append(append([]byte{}, sampleRecords(t, "01")[0]...), " }"...)
	calls, err := cloudtrail.Decode(input)
	if !errors.Is(err, cloudtrail.ErrMalformed) || !strings.Contains(err.Error(), "invalid character '}'") {
		t.Errorf("got error %v, want one about the '}'", err)
	}
	if len(calls) != 1 || calls[0].EndpointIDs[0] != "vpce-0ef9277730bf26b70" {
		t.Errorf("got %+v, want the CreateVpcEndpoint call", calls)
	}
}

// Several JSON values in a row, as Firehose writes EventBridge events to S3, or an array
// of events, decode one after the other.
func TestDecodeSeveralValues(t *testing.T) {
	t.Parallel()
	first := envelope(t, "aws.ec2", "111122223333", "eu-west-1", sampleRecords(t, "01")[0])
	second := envelope(t, "aws.ec2", "111122223333", "eu-west-1", sampleRecords(t, "04")[0])
	inputs := map[string][]byte{
		"concatenated":    append(append(append([]byte{}, first...), '\n'), second...),
		"array of events": mustMarshal(t, []json.RawMessage{first, second}),
	}
	for name, input := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			calls, err := cloudtrail.Decode(input)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range calls {
				ids = append(ids, c.EndpointIDs...)
			}
			if want := []string{"vpce-0ef9277730bf26b70", "vpce-db0c0ffee984e07fa"}; !reflect.DeepEqual(ids, want) {
				t.Errorf("got %q, want %q", ids, want)
			}
		})
	}
}
