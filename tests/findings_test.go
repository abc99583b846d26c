package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
	"github.com/vpce-guard/vpce-guard/tests/orgsim"
)

// findingsEnv is the function's environment with Security Hub through proxy
// and EC2 straight to moto.
func findingsEnv(motoURL, proxyURL string, settings map[string]string) map[string]string {
	env := functionEnv(motoURL, replayRegion, map[string]string{
		"FINDINGS":                     "securityhub",
		"AWS_ENDPOINT_URL_SECURITYHUB": proxyURL,
	})
	maps.Copy(env, settings)
	return env
}

// invokeSummary invokes fn, which must succeed, and returns its response.
func invokeSummary(t *testing.T, fn *emulator.Lambda, event []byte) (handler.Summary, string) {
	t.Helper()
	status, body, log, err := fn.InvokeLogged(t.Context(), event)
	if err != nil {
		t.Fatal(err)
	}
	if fe, failed := emulator.ParseFunctionError(body); failed || status != http.StatusOK {
		t.Fatalf("invocation failed: HTTP %d, %s: %s", status, fe.ErrorType, fe.ErrorMessage)
	}
	var summary handler.Summary
	if err := json.Unmarshal(body, &summary); err != nil {
		t.Fatalf("the function's answer %s: %v", body, err)
	}
	return summary, log
}

// securityHubFindings are moto's findings in client's account and region, by Id.
func securityHubFindings(t *testing.T, client *securityhub.Client) map[string]shtypes.AwsSecurityFinding {
	t.Helper()
	out, err := client.GetFindings(t.Context(), &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatalf("GetFindings: %v", err)
	}
	byID := map[string]shtypes.AwsSecurityFinding{}
	for _, f := range out.Findings {
		byID[aws.ToString(f.Id)] = f
	}
	return byID
}

// The function, under the Lambda emulator, sweeps an open and a compliant
// endpoint, first in dry-run mode and then enforcing, and imports their
// findings into moto's Security Hub: FAILED and then PASSED for the open
// one, with the rewrite resolved by BatchUpdateFindings (answered by the
// proxy: moto has no BatchUpdateFindings), PASSED throughout for the other.
func TestFindingsOnSecurityHub(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	moto := emulator.StartMoto(t) // a sweep lists every endpoint of the region, and GetFindings every finding
	bootstrap := emulator.BuildBootstrap(t)
	client := emulator.EC2Client(t, moto.URL, replayRegion)
	hub := emulator.SecurityHubClient(t, moto.URL, replayRegion)
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	n := newNetwork(t, ctx, client, replayRegion)
	service := "com.amazonaws." + replayRegion + ".logs"
	template := renderFor(t, policytemplates.Logs, replayRegion)
	open := createEndpoint(t, ctx, client, n, service, "", nil)
	compliant := createEndpoint(t, ctx, client, n, service, template, nil)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("BatchUpdateFindings", emulator.ResolveFindings(), -1)
	sweep := []byte(loadFixture(t, "scheduled-sweep.json", replayRegion).text)
	at := findings.Place{Account: motoAccount, Region: replayRegion}
	openID, compliantID := findings.FindingID(at, open), findings.FindingID(at, compliant)

	dry := emulator.StartLambda(t, bootstrap, findingsEnv(moto.URL, proxy.URL, map[string]string{"DRY_RUN": "true"}))
	summary, _ := invokeSummary(t, dry, sweep)
	if summary.Findings == nil || *summary.Findings != (handler.FindingsCount{Imported: 2}) {
		t.Errorf("dry run: findings %+v, want 2 imported", summary.Findings)
	}
	got := securityHubFindings(t, hub)
	if f := got[openID]; f.Compliance == nil || f.Compliance.Status != shtypes.ComplianceStatusFailed ||
		f.Severity.Label != shtypes.SeverityLabelHigh || !slices.Contains(f.Types, findings.TypeDataExfiltration) ||
		!strings.Contains(aws.ToString(f.Description), "Dry run: not rewritten.") {
		t.Errorf("the open endpoint's finding after the dry run: %s", jsonOf(f))
	}
	if seen, _ := proxy.Count("BatchUpdateFindings"); seen != 0 {
		t.Errorf("%d updates in a dry run, want none", seen)
	}

	fn := emulator.StartLambda(t, bootstrap, findingsEnv(moto.URL, proxy.URL, nil))
	summary, _ = invokeSummary(t, fn, sweep)
	if endpointPolicy(t, ctx, client, open) != template || summary.Actions["rewritten"] != 1 {
		t.Fatalf("the open endpoint was not rewritten: %+v", summary)
	}
	if *summary.Findings != (handler.FindingsCount{Imported: 2}) {
		t.Errorf("findings %+v, want 2 imported", summary.Findings)
	}
	got = securityHubFindings(t, hub)
	if len(got) != 2 {
		t.Fatalf("%d findings in moto, want one per endpoint: %s", len(got), jsonOf(got))
	}
	for _, tc := range []struct {
		id, endpoint, verdict, action string
	}{{openID, open, "noncompliant", "rewritten"}, {compliantID, compliant, "compliant", "none"}} {
		f, ok := got[tc.id]
		if !ok {
			t.Errorf("no finding %s", tc.id)
			continue
		}
		if aws.ToString(f.ProductArn) != "arn:aws:securityhub:"+replayRegion+":"+motoAccount+":product/"+motoAccount+"/default" ||
			aws.ToString(f.AwsAccountId) != motoAccount || aws.ToString(f.GeneratorId) != findings.GeneratorID ||
			aws.ToString(f.SchemaVersion) != findings.SchemaVersion || f.RecordState != shtypes.RecordStateActive {
			t.Errorf("%s: identity %s", tc.id, jsonOf(f))
		}
		if f.Compliance == nil || f.Compliance.Status != shtypes.ComplianceStatusPassed || f.Severity.Label != shtypes.SeverityLabelInformational ||
			f.Workflow == nil || f.Workflow.Status != shtypes.WorkflowStatusResolved {
			t.Errorf("%s: compliance %+v, severity %+v, workflow %+v; want PASSED, INFORMATIONAL, RESOLVED", tc.id, f.Compliance, f.Severity, f.Workflow)
		}
		if len(f.Resources) != 1 {
			t.Fatalf("%s: %d resources", tc.id, len(f.Resources))
		}
		r := f.Resources[0]
		details := map[string]string{}
		if r.Details != nil {
			details = r.Details.Other
		}
		if aws.ToString(r.Type) != "Other" || aws.ToString(r.Id) != "arn:aws:ec2:"+replayRegion+":"+motoAccount+":vpc-endpoint/"+tc.endpoint ||
			r.Partition != shtypes.PartitionAws || aws.ToString(r.Region) != replayRegion ||
			details["verdict"] != tc.verdict || details["action"] != tc.action || details["serviceName"] != service ||
			details["eventName"] != "ScheduledSweep" || details["policyAfter"] != policyHash(template) {
			t.Errorf("%s: resource %s %s in %s %s, details %v", tc.id, aws.ToString(r.Type), aws.ToString(r.Id), r.Partition, aws.ToString(r.Region), details)
		}
	}
	// moto keeps the last import as it came; AWS keeps an existing
	// finding's workflow, which the update sets.
	var updates []securityhub.BatchUpdateFindingsInput
	for _, r := range proxy.Requests() {
		if r.Action == "BatchUpdateFindings" {
			var in securityhub.BatchUpdateFindingsInput
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatal(err)
			}
			updates = append(updates, in)
		}
	}
	if len(updates) != 1 || len(updates[0].FindingIdentifiers) != 1 || aws.ToString(updates[0].FindingIdentifiers[0].Id) != openID ||
		aws.ToString(updates[0].FindingIdentifiers[0].ProductArn) != findings.ProductARN(at) ||
		updates[0].Workflow == nil || updates[0].Workflow.Status != shtypes.WorkflowStatusResolved ||
		updates[0].Note == nil || aws.ToString(updates[0].Note.UpdatedBy) != "vpce-guard" {
		t.Errorf("updates %s; want the rewritten endpoint's finding RESOLVED, with vpce-guard's note", jsonOf(updates))
	}
}

// When Security Hub refuses (not enabled in the account, or throttling past
// the SDK's retries), the endpoint is rewritten all the same, the
// invocation succeeds, and the failure is counted and logged.
func TestFindingsWhenSecurityHubFails(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	notEnabled := "Security Hub is not enabled in account " + motoAccount
	for _, tc := range []struct {
		name     string
		fault    emulator.Fault
		attempts int
		message  string // the log line
		hint     string
	}{
		// As Security Hub documents it: every finding in FailedFindings.
		{"not enabled", emulator.Fault{Name: "not enabled", Answer: refuseEvery("InvalidAccess")}, 1, "findings refused", notEnabled},
		{"not subscribed", emulator.Fault{Name: "not subscribed", Status: http.StatusUnauthorized, Code: "InvalidAccessException", REST: true,
			Message: "Account " + motoAccount + " is not subscribed to AWS Security Hub"}, 1, "findings not imported", notEnabled},
		{"not allowed", emulator.Fault{Name: "denied", Status: http.StatusForbidden, Code: "AccessDeniedException", REST: true}, 1,
			"findings not imported", "the role needs securityhub:BatchImportFindings"},
		{"throttled", emulator.Fault{Name: "throttled", Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", REST: true}, config.MaxAttempts,
			"findings not imported", "the endpoint's next check imports its finding again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFaultSetup(t, moto)
			proxy := emulator.StartFaultProxy(t, moto.URL)
			proxy.Inject("BatchImportFindings", tc.fault, -1)
			fn := emulator.StartLambda(t, bootstrap, findingsEnv(moto.URL, proxy.URL, nil))

			summary, log := invokeSummary(t, fn, s.event)
			if s.policyNow(t) != s.template || summary.Actions["rewritten"] != 1 || summary.Errors != 0 {
				t.Errorf("summary %+v; want the endpoint rewritten and no error", summary)
			}
			if summary.Findings == nil || *summary.Findings != (handler.FindingsCount{Failed: 1}) {
				t.Errorf("findings %+v, want 1 failed", summary.Findings)
			}
			if seen, _ := proxy.Count("BatchImportFindings"); seen != tc.attempts {
				t.Errorf("%d imports tried, want %d", seen, tc.attempts)
			}
			if seen, _ := proxy.Count("BatchUpdateFindings"); seen != 0 {
				t.Errorf("%d updates of a finding that was not imported", seen)
			}
			var line map[string]any
			for l := range strings.SplitSeq(log, "\n") {
				if strings.Contains(l, `"`+tc.message+`"`) {
					if err := json.Unmarshal([]byte(l), &line); err != nil {
						t.Fatal(err)
					}
				}
			}
			level := "ERROR"
			if tc.message == "findings refused" {
				level = "WARN"
			}
			if line["level"] != level || !strings.Contains(jsonOf(line["endpointIds"]), s.id) || !strings.Contains(jsonOf(line["hint"]), tc.hint) {
				t.Errorf("%q line %v; want %s naming the endpoint, with the hint %q", tc.message, line, level, tc.hint)
			}
			if !strings.Contains(fn.Log(), `"FindingsFailed":1`) {
				t.Error("no FindingsFailed metric")
			}
		})
	}
}

// In an organization, the hub imports each member's findings into that
// member's own Security Hub, through the member role (the default product
// ARN takes only its own account's findings): nothing lands in the hub's
// account, and an account without the role gets no finding, and fails
// alone, as before.
func TestFindingsOfAnOrganization(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	moto := emulator.StartMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	org, outsiders, err := orgsim.Create(ctx, moto.URL, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := org.DeployMembers(ctx, memberTemplates(t, org), orgRegions); err != nil {
		t.Fatal(err)
	}
	proxy := emulator.StartFaultProxy(t, moto.URL)
	org.StrictSTS(proxy)
	proxy.Inject("BatchUpdateFindings", emulator.ResolveFindings(), -1)
	region := orgRegions[0]
	fn := emulator.StartLambda(t, bootstrap, hubEnv(proxy.URL, region, map[string]string{"FINDINGS": "securityhub"}))

	endpoints := map[string]string{}
	var failures []string
	for _, account := range append(slices.Clone(org.Members), outsiders...) {
		ids, err := org.Endpoints(ctx, account, region, 1, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		endpoints[account] = ids[0]
		entry := modifyEvent(account, region, ids[0], "")
		event := fmt.Sprintf(`{"version":"0","id":"eb-%s","detail-type":%q,"source":%q,"account":%q,"region":%q,"time":"2026-01-02T03:04:05Z","resources":[],"detail":%s}`,
			account, aws.ToString(entry.DetailType), aws.ToString(entry.Source), account, region, aws.ToString(entry.Detail))
		status, body, err := fn.Invoke(ctx, []byte(event))
		if err != nil || status != http.StatusOK {
			t.Fatalf("invoke: %d %s %v", status, body, err)
		}
		if fe, failed := emulator.ParseFunctionError(body); failed {
			failures = append(failures, fe.ErrorMessage)
		}
	}
	if len(failures) != 1 || !strings.Contains(failures[0], outsiders[0]) {
		t.Errorf("failed invocations %q; want the outsider's only", failures)
	}

	for _, account := range append(slices.Clone(org.Members), outsiders[0], orgsim.HubAccount) {
		got := securityHubFindings(t, securityhub.NewFromConfig(orgsim.Config(moto.URL, account, region)))
		at := findings.Place{Account: account, Region: region}
		if account == outsiders[0] || account == orgsim.HubAccount {
			if len(got) != 0 {
				t.Errorf("account %s has %d findings, want none: %s", account, len(got), jsonOf(got))
			}
			continue
		}
		f, ok := got[findings.FindingID(at, endpoints[account])]
		if len(got) != 1 || !ok || aws.ToString(f.AwsAccountId) != account || aws.ToString(f.ProductArn) != findings.ProductARN(at) ||
			f.Compliance == nil || f.Compliance.Status != shtypes.ComplianceStatusPassed {
			t.Errorf("member %s: %d findings, its own %v: %s", account, len(got), ok, jsonOf(f))
		}
	}
	resolved := map[string]bool{}
	for _, r := range proxy.Requests() {
		if r.Action == "BatchUpdateFindings" {
			var in securityhub.BatchUpdateFindingsInput
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatal(err)
			}
			for _, ident := range in.FindingIdentifiers {
				resolved[aws.ToString(ident.ProductArn)] = true
			}
		}
	}
	for _, account := range org.Members {
		if !resolved[findings.ProductARN(findings.Place{Account: account, Region: region})] {
			t.Errorf("member %s's finding was not resolved under its own product ARN: %v", account, resolved)
		}
	}
}

// refuseEvery answers BatchImportFindings with every finding failed with code.
func refuseEvery(code string) func([]byte) (int, []byte) {
	return func(request []byte) (int, []byte) {
		var in struct{ Findings []struct{ Id string } }
		_ = json.Unmarshal(request, &in) // a request it cannot read gets an empty answer
		var failed []map[string]string
		for _, f := range in.Findings {
			failed = append(failed, map[string]string{"Id": f.Id, "ErrorCode": code, "ErrorMessage": "refused by the proxy"})
		}
		body, _ := json.Marshal(map[string]any{"FailedCount": len(failed), "SuccessCount": 0, "FailedFindings": failed})
		return http.StatusOK, body
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
