// Command demo shows vpce-guard closing the exfiltration path on a machine
// without an AWS account: EC2 and CloudWatch Logs emulated by moto, the real
// function run by the Lambda Runtime Interface Emulator. Run it with make demo.
//
// The story: a VPC gets a CloudWatch Logs interface endpoint without a
// policy, so AWS gives it full access. Anyone in the VPC with any account's
// credentials can now write into that account's log groups through it.
// The CreateVpcEndpoint event reaches vpce-guard, which rewrites the policy to
// the template: the account's own log group logs-test-allowed only.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

const (
	region       = "eu-west-1"
	account      = "123456789012" // moto's account
	foreign      = "444455556666" // the account an intruder's keys belong to
	allowedGroup = "logs-test-allowed"
	deniedGroup  = "logs-test-denied"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run tells the story on out. Everything it starts, it stops.
func run(ctx context.Context, out io.Writer) error {
	p := printer{out}
	p.title("vpce-guard demo: no AWS account needed")

	p.step("Starting the EC2 and CloudWatch Logs emulator (moto) on 127.0.0.1")
	path, err := emulator.MotoServerPath()
	if err != nil {
		return fmt.Errorf("%w (run make demo, which installs it)", err)
	}
	moto, err := emulator.LaunchMoto(ctx, path)
	if err != nil {
		return err
	}
	defer moto.Close()
	p.detail("moto at %s", moto.URL)

	p.step("Building the function and the Lambda Runtime Interface Emulator")
	dir, err := os.MkdirTemp("", "vpce-guard-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// make test builds both before its tests run; make demo lets the demo build them.
	bootstrap, err := emulator.PrebuiltOrBuild(emulator.EnvBootstrap, filepath.Join(dir, "bootstrap"), emulator.BuildFunction)
	if err != nil {
		return err
	}
	rie, err := emulator.PrebuiltOrBuild(emulator.EnvRIE, filepath.Join(dir, "aws-lambda-rie"), emulator.BuildRIE)
	if err != nil {
		return err
	}
	fn, err := emulator.LaunchLambda(ctx, rie, bootstrap, map[string]string{
		"AWS_REGION":           region,
		"AWS_ENDPOINT_URL_EC2": moto.URL,
		"LOG_GROUP_PATTERNS":   allowedGroup,
	})
	if err != nil {
		return err
	}
	defer fn.Close()
	p.detail("vpce-guard runs as Lambda runs it, configured with LOG_GROUP_PATTERNS=%s", allowedGroup)

	p.step("Building the scene: a VPC, a subnet, two log groups, and a Logs endpoint without a policy")
	client := ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(moto.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	endpointID, err := buildScene(ctx, client, moto.URL)
	if err != nil {
		return err
	}
	p.detail("log groups %s and %s in account %s", allowedGroup, deniedGroup, account)
	p.detail("endpoint %s for com.amazonaws.%s.logs", endpointID, region)

	before, err := endpointPolicy(ctx, client, endpointID)
	if err != nil {
		return err
	}
	p.step("The endpoint's policy now (AWS's default when none is given)")
	p.block(before)
	if err := p.decisions(before); err != nil {
		return err
	}

	p.step("The CreateVpcEndpoint event reaches vpce-guard")
	event, err := createEvent(endpointID)
	if err != nil {
		return err
	}
	outcomes, err := invoke(ctx, fn, event)
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		p.detail("%s: verdict %s, action %s", o.EndpointID, o.Verdict, o.Action)
		for _, r := range o.Reasons {
			p.detail("  because %s", r)
		}
	}

	after, err := endpointPolicy(ctx, client, endpointID)
	if err != nil {
		return err
	}
	p.step("The endpoint's policy after vpce-guard")
	p.block(after)
	if err := p.decisions(after); err != nil {
		return err
	}

	p.step("Replaying the same event: the policy is compliant now, nothing is written")
	if outcomes, err = invoke(ctx, fn, event); err != nil {
		return err
	}
	for _, o := range outcomes {
		p.detail("%s: verdict %s, action %s", o.EndpointID, o.Verdict, o.Action)
	}

	p.step("Stopping the emulated Lambda and moto")
	return nil
}

// outcome is the part of an outcome line the demo shows.
type outcome struct {
	Message    string   `json:"message"`
	EndpointID string   `json:"endpointId"`
	Verdict    string   `json:"verdict"`
	Action     string   `json:"action"`
	Reasons    []string `json:"reasons"`
}

// invoke sends event to the function and returns the outcomes it logged (its
// response only counts them).
func invoke(ctx context.Context, fn *emulator.Lambda, event []byte) ([]outcome, error) {
	status, body, log, err := fn.InvokeLogged(ctx, event)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("the function answered HTTP %d: %s", status, body)
	}
	if fe, failed := emulator.ParseFunctionError(body); failed {
		return nil, fmt.Errorf("the function failed: %s: %s", fe.ErrorType, fe.ErrorMessage)
	}
	var outcomes []outcome
	for line := range strings.SplitSeq(log, "\n") {
		var o outcome
		if json.Unmarshal([]byte(line), &o) == nil && o.Message == "outcome" {
			outcomes = append(outcomes, o)
		}
	}
	return outcomes, nil
}

// buildScene creates the VPC, the log groups and the endpoint, and returns its ID.
func buildScene(ctx context.Context, client *ec2.Client, motoURL string) (string, error) {
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return "", fmt.Errorf("create vpc: %w", err)
	}
	subnet, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		return "", fmt.Errorf("create subnet: %w", err)
	}
	for _, group := range []string{allowedGroup, deniedGroup} {
		if err := createLogGroup(ctx, motoURL, group); err != nil {
			return "", err
		}
	}
	endpoint, err := client.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId:           vpc.Vpc.VpcId,
		ServiceName:     aws.String("com.amazonaws." + region + ".logs"),
		VpcEndpointType: types.VpcEndpointTypeInterface,
		SubnetIds:       []string{aws.ToString(subnet.Subnet.SubnetId)},
	})
	if err != nil {
		return "", fmt.Errorf("create vpc endpoint: %w", err)
	}
	return aws.ToString(endpoint.VpcEndpoint.VpcEndpointId), nil
}

// createLogGroup calls CloudWatch Logs' JSON API on moto directly: the demo
// needs one call of it, not another SDK module. moto reads the region from
// the credential scope and does not check signatures.
func createLogGroup(ctx context.Context, motoURL, name string) error {
	body := strings.NewReader(fmt.Sprintf(`{"logGroupName":%q}`, name))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, motoURL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261129/"+region+"/logs/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create log group %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("create log group %s: HTTP %d: %s", name, resp.StatusCode, answer)
	}
	return nil
}

func endpointPolicy(ctx context.Context, client *ec2.Client, id string) (string, error) {
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		return "", fmt.Errorf("describe vpc endpoint %s: %w", id, err)
	}
	if len(out.VpcEndpoints) != 1 {
		return "", fmt.Errorf("describe vpc endpoint %s: %d endpoints", id, len(out.VpcEndpoints))
	}
	return aws.ToString(out.VpcEndpoints[0].PolicyDocument), nil
}

// createEvent is the EventBridge event CloudTrail would deliver for the
// endpoint's creation, in the shape of the real console record kept in
// tests/testdata/events, carrying this run's IDs.
func createEvent(endpointID string) ([]byte, error) {
	event := map[string]any{
		"version": "0", "id": "5a1c6f1e-0d4b-4c6e-9a55-000000000001",
		"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
		"account": account, "time": time.Now().UTC().Format(time.RFC3339), "region": region, "resources": []any{},
		"detail": map[string]any{
			"eventVersion": "1.09", "eventID": "0f6e2d4c-5b3a-4a19-8c7d-000000000001",
			"eventTime": time.Now().UTC().Format(time.RFC3339), "eventSource": "ec2.amazonaws.com",
			"eventName": "CreateVpcEndpoint", "awsRegion": region, "recipientAccountId": account,
			"userIdentity": map[string]any{
				"type": "IAMUser", "accountId": account, "arn": "arn:aws:iam::" + account + ":user/developer",
			},
			"requestParameters": map[string]any{"CreateVpcEndpointRequest": map[string]any{
				"ServiceName": "com.amazonaws." + region + ".logs", "VpcEndpointType": "Interface",
			}},
			"responseElements": map[string]any{"CreateVpcEndpointResponse": map[string]any{
				"vpcEndpoint": map[string]any{
					"vpcEndpointId": endpointID, "ownerId": json.Number(account),
					"serviceName": "com.amazonaws." + region + ".logs", "vpcEndpointType": "Interface",
				},
			}},
		},
	}
	return json.Marshal(event)
}

// printer writes the demo's output for a person to read.
type printer struct{ w io.Writer }

func (p printer) title(s string) {
	fmt.Fprintf(p.w, "\n%s\n%s\n", s, strings.Repeat("=", len(s)))
}

func (p printer) step(format string, args ...any) {
	fmt.Fprintf(p.w, "\n== "+format+"\n", args...)
}

func (p printer) detail(format string, args ...any) {
	fmt.Fprintf(p.w, "   "+format+"\n", args...)
}

func (p printer) block(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(p.w, "   | %s\n", line)
	}
}

// decisions prints what the policy decides for writes from inside the VPC:
// into the account's own log groups, and, with an intruder's keys, into the
// intruder's own account.
func (p printer) decisions(policyText string) error {
	doc, err := policy.Parse([]byte(policyText))
	if err != nil {
		return fmt.Errorf("the endpoint's policy: %w", err)
	}
	cases := []struct{ who, caller, owner, group string }{
		{"a role of this account", "arn:aws:iam::" + account + ":role/app", account, allowedGroup},
		{"a role of this account", "arn:aws:iam::" + account + ":role/app", account, deniedGroup},
		{"an intruder's keys", "arn:aws:iam::" + foreign + ":user/intruder", foreign, "exfil"},
	}
	p.detail("")
	p.detail("logs:PutLogEvents through the endpoint, simulated against this policy:")
	for _, c := range cases {
		resource := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:s1", region, c.owner, c.group)
		d, err := doc.Evaluate(policy.Request{Principal: c.caller, Action: "logs:PutLogEvents", Resource: resource})
		if err != nil {
			return err
		}
		verdict := "DENY "
		if d.Allowed {
			verdict = "ALLOW"
		}
		p.detail("  %s  %-24s -> account %s, log group %-18s (%s)", verdict, c.who, c.owner, c.group, d)
	}
	return nil
}
