package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cli"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

const (
	account = "111122223333"
	logsSvc = "com.amazonaws.eu-west-1.logs"
)

// record is a CloudTrail record of an endpoint call in eu-west-1.
func record(eventID, eventName, endpointID string) string {
	switch eventName {
	case "CreateVpcEndpoint":
		return fmt.Sprintf(`{"eventID":%q,"eventName":"CreateVpcEndpoint","eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1",
			"recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},
			"responseElements":{"CreateVpcEndpointResponse":{"vpcEndpoint":{"vpcEndpointId":%q}}}}`, eventID, endpointID)
	case "ModifyVpcEndpoint":
		return fmt.Sprintf(`{"eventID":%q,"eventName":"ModifyVpcEndpoint","eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1",
			"recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},
			"requestParameters":{"ModifyVpcEndpointRequest":{"VpcEndpointId":{"tag":1,"content":%q},"ResetPolicy":true}}}`, eventID, endpointID)
	}
	return fmt.Sprintf(`{"eventID":%q,"eventName":%q,"eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1"}`, eventID, eventName)
}

func eventBridge(detail string) string {
	return `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333","region":"eu-west-1","detail":` + detail + `}`
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func template(t testing.TB) string {
	t.Helper()
	text, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: "eu-west-1", AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// replayFiles hold every input form replay reads.
func replayFiles() fstest.MapFS {
	logFile := `{"Records":[` + strings.Join([]string{
		record("ct-2", "CreateVpcEndpoint", "vpce-00000002"),
		record("ct-3", "DeleteVpcEndpoints", ""),
		record("ct-4", "ModifyVpcEndpoint", "vpce-00000003"),
	}, ",") + `]}`
	return fstest.MapFS{
		"events/01-create.json":          {Data: []byte(eventBridge(record("ct-1", "CreateVpcEndpoint", "vpce-00000001")))},
		"events/02-trail.json.gz":        {Data: []byte(gzipped(logFile))},
		"events/README.txt":              {Data: []byte("not an event")},
		"events/more/03-other-call.json": {Data: []byte(record("ct-5", "RunInstances", ""))},
		"other-call.json":                {Data: []byte(record("ct-5", "RunInstances", ""))},
		"broken.json":                    {Data: []byte(`{"Records":[` + record("ct-6", "CreateVpcEndpoint", "vpce-00000001") + `,{"eventID":7}`)},
	}
}

type ec2Run struct {
	code           int
	stdout, stderr string
	regions        []string // the regions NewEC2 was asked for
}

func runWithEC2(t *testing.T, ec2 remediate.EC2, vars map[string]string, stdin string, args ...string) ec2Run {
	t.Helper()
	var out, errOut bytes.Buffer
	var mu sync.Mutex
	var regions []string
	files := replayFiles()
	env := cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		ReadFile: files.ReadFile,
		Open:     func(name string) (fs.File, error) { return files.Open(name) },
		Getenv:   func(k string) string { return vars[k] },
		NewEC2: func(_ context.Context, region string) (remediate.EC2, string, error) {
			mu.Lock()
			defer mu.Unlock()
			regions = append(regions, region)
			if region == "" {
				region = vars["AWS_REGION"]
			}
			return ec2, region, nil
		},
	}
	code := cli.Run(context.Background(), env, args)
	return ec2Run{code, out.String(), errOut.String(), regions}
}

// outcomes decodes replay's and audit's JSON Lines.
func outcomes(t *testing.T, stdout string) []remediate.Outcome {
	t.Helper()
	var out []remediate.Outcome
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var o remediate.Outcome
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("stdout is not JSON Lines: %v\n%s", err, stdout)
		}
		out = append(out, o)
	}
	if n := strings.Count(stdout, "\n"); n != len(out) {
		t.Errorf("%d lines for %d outcomes", n, len(out))
	}
	return out
}

func summary(outcomes []remediate.Outcome) string {
	var parts []string
	for _, o := range outcomes {
		parts = append(parts, fmt.Sprintf("%s:%s/%s", o.EventID, o.Verdict, o.Action))
	}
	return strings.Join(parts, " ")
}

// unauthorizedLister refuses to list endpoints, as EC2 does without the permission.
type unauthorizedLister struct{ *fakeec2.EC2 }

func (unauthorizedLister) DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	return nil, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation.")
}
