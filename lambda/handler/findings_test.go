package handler_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/internal/fakesecurityhub"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// findingsFixture is a single-account function reporting to a fake
// Security Hub.
type findingsFixture struct {
	*fixture
	hub *fakesecurityhub.Hub
}

func newFindingsFixture(t *testing.T, ec2 *fakeec2.EC2, configure func(*config.Config), hub *fakesecurityhub.Hub) *findingsFixture {
	t.Helper()
	f := newFixtureWithOptions(t, ec2, func(c *config.Config) {
		c.MaxWritesPerSecond = 0 // the pace is tested elsewhere, on a fake clock
		if configure != nil {
			configure(c)
		}
	}, func(o *handler.Options) { o.Findings = findings.NewPublisher(findings.OneClient{Client: hub}, o.Log) })
	return &findingsFixture{fixture: f, hub: hub}
}

func findingID(id string) string {
	return findings.FindingID(findings.Place{Account: account, Region: region}, id)
}

// findingsMetrics sums the findings' EMF records.
func findingsMetrics(t *testing.T, emf *bytes.Buffer) (records int, imported, failed float64) {
	t.Helper()
	for _, r := range lines(t, emf) {
		if r[metrics.DimensionTarget] != metrics.TargetSecurityHub {
			continue
		}
		records++
		imported += r[metrics.FindingsImported].(float64)
		failed += r[metrics.FindingsFailed].(float64)
	}
	return records, imported, failed
}

func logsTemplate(t *testing.T) string {
	t.Helper()
	template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return string(template)
}

// The endpoint an event names is rewritten, then its finding imported:
// PASSED and resolved; the response and the metrics count it.
func TestFindingsOfAnEvent(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
	f := newFindingsFixture(t, ec2, nil, fakesecurityhub.New())
	_, summary, err := f.invoke(createEvent(endpointID))
	if err != nil {
		t.Fatal(err)
	}
	if ec2.Policy(endpointID) != logsTemplate(t) {
		t.Error("the endpoint was not rewritten")
	}
	got, ok := f.hub.Finding(findingID(endpointID))
	if !ok || got.Compliance.Status != securityhub.ComplianceStatusPassed || got.Workflow.Status != securityhub.WorkflowStatusResolved ||
		got.Resources[0].Details.Other["eventId"] != "ct-1" {
		t.Errorf("finding %v: %+v", ok, got)
	}
	if len(f.hub.Updates()) != 1 {
		t.Errorf("%d updates, want the rewritten endpoint resolved once", len(f.hub.Updates()))
	}
	if summary.Findings == nil || *summary.Findings != (handler.FindingsCount{Imported: 1}) {
		t.Errorf("summary's findings %+v, want one imported", summary.Findings)
	}
	if records, imported, failed := findingsMetrics(t, f.metrics); records != 1 || imported != 1 || failed != 0 {
		t.Errorf("findings metrics: %d records, %v imported, %v failed; want 1, 1, 0", records, imported, failed)
	}
}

// Whatever Security Hub does, the endpoint is rewritten and the invocation
// succeeds; the failure is logged and counted.
func TestFindingsNeverBlockTheRemediation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		hub      func() *fakesecurityhub.Hub
		message  string
		imported float64
		failed   float64
	}{
		{"not enabled", func() *fakesecurityhub.Hub {
			h := fakesecurityhub.New()
			h.ImportErr = &smithy.GenericAPIError{Code: "InvalidAccessException", Message: "Account 111122223333 is not subscribed to AWS Security Hub"}
			return h
		}, "findings not imported", 0, 1},
		{"finding refused", func() *fakesecurityhub.Hub {
			h := fakesecurityhub.New()
			h.Refuse = map[string]string{findingID(endpointID): "InvalidInput"}
			return h
		}, "findings refused", 0, 1},
		{"update refused", func() *fakesecurityhub.Hub {
			h := fakesecurityhub.New()
			h.UpdateErr = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
			return h
		}, "findings not resolved", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
			f := newFindingsFixture(t, ec2, nil, tt.hub())
			outcomes, summary, err := f.invoke(createEvent(endpointID))
			if err != nil {
				t.Fatalf("the invocation failed: %v", err)
			}
			if len(outcomes) != 1 || outcomes[0].Action != remediate.Rewritten || ec2.Policy(endpointID) != logsTemplate(t) {
				t.Errorf("outcomes %+v; want the endpoint rewritten", outcomes)
			}
			if summary.Errors != 0 || summary.Findings == nil || summary.Findings.Failed != int(tt.failed) {
				t.Errorf("summary %+v, findings %+v; want no error, %v findings failed", summary, summary.Findings, tt.failed)
			}
			if _, imported, failed := findingsMetrics(t, f.metrics); imported != tt.imported || failed != tt.failed {
				t.Errorf("findings metrics: %v imported, %v failed; want %v, %v", imported, failed, tt.imported, tt.failed)
			}
			if len(withMessage(lines(t, f.logs), tt.message)) != 1 {
				t.Errorf("no %q line:\n%s", tt.message, f.logs)
			}
		})
	}
}

// A write that fails still fails the invocation, for Lambda to retry it;
// the endpoint's finding says FAILED, and why.
func TestFindingsOfAFailedWrite(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
	ec2.FailModify(endpointID, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation."))
	f := newFindingsFixture(t, ec2, nil, fakesecurityhub.New())
	_, _, err := f.invoke(createEvent(endpointID))
	if err == nil {
		t.Fatal("the invocation succeeded")
	}
	got, ok := f.hub.Finding(findingID(endpointID))
	if !ok || got.Compliance.Status != securityhub.ComplianceStatusFailed || got.Severity.Label != securityhub.SeverityLabelHigh ||
		!bytes.Contains([]byte(got.Description), []byte("missing permission ec2:ModifyVpcEndpoint")) {
		t.Errorf("finding %v: %+v", ok, got)
	}
	if len(f.hub.Updates()) != 0 {
		t.Error("a finding was resolved though the write failed")
	}
}

// A sweep imports a hundred findings at a time as it goes, resolves exactly
// the rewritten endpoints', and makes none for the exempt and the skipped.
// In dry-run mode every open endpoint's finding is FAILED and none is
// resolved.
func TestFindingsOfASweep(t *testing.T) {
	t.Parallel()
	for _, dryRun := range []bool{false, true} {
		t.Run(fmt.Sprint("dry run ", dryRun), func(t *testing.T) {
			t.Parallel()
			template := logsTemplate(t)
			var endpoints []types.VpcEndpoint
			var open []string
			for i := range 250 {
				id := fmt.Sprintf("vpce-%08d", i)
				policy := template
				if i%2 == 0 {
					policy = fakeec2.DefaultPolicy
					open = append(open, findingID(id))
				}
				endpoints = append(endpoints, fakeec2.Endpoint(id, logs, account, policy))
			}
			endpoints = append(endpoints,
				fakeec2.Endpoint("vpce-exempt", logs, account, fakeec2.DefaultPolicy, "vpce-guard:exempt", "true"),
				fakeec2.Endpoint("vpce-s3", "com.amazonaws.eu-west-1.s3", account, fakeec2.DefaultPolicy))
			f := newFindingsFixture(t, fakeec2.New(endpoints...), func(c *config.Config) { c.DryRun = dryRun }, fakesecurityhub.New())
			_, summary, err := f.invoke([]byte(scheduledEvent))
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, batch := range f.hub.Imports() {
				sizes = append(sizes, len(batch))
			}
			if !slices.Equal(sizes, []int{100, 100, 50}) || f.hub.Findings() != 250 {
				t.Errorf("imports of %v findings, %d stored; want 100, 100, 50 and 250", sizes, f.hub.Findings())
			}
			var resolved []string
			for _, u := range f.hub.Updates() {
				for _, ident := range u.FindingIdentifiers {
					resolved = append(resolved, ident.ID)
				}
			}
			slices.Sort(resolved)
			slices.Sort(open)
			if want := open; (dryRun && len(resolved) != 0) || (!dryRun && !slices.Equal(resolved, want)) {
				t.Errorf("resolved %d findings, want %d: exactly the rewritten endpoints'", len(resolved), len(want)*boolInt(!dryRun))
			}
			for _, id := range open {
				got, _ := f.hub.Finding(id)
				want := securityhub.ComplianceStatusPassed
				if dryRun {
					want = securityhub.ComplianceStatusFailed
				}
				if got.Compliance == nil || got.Compliance.Status != want {
					t.Fatalf("%s: %+v, want %s", id, got.Compliance, want)
				}
			}
			for _, id := range []string{"vpce-exempt", "vpce-s3"} {
				if _, ok := f.hub.Finding(findingID(id)); ok {
					t.Errorf("%s has a finding", id)
				}
			}
			if summary.Findings == nil || *summary.Findings != (handler.FindingsCount{Imported: 250}) {
				t.Errorf("summary's findings %+v", summary.Findings)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The finding of an endpoint that reaches another region's service belongs
// to the endpoint's region, where the function looked it up.
func TestFindingsOfACrossRegionEndpoint(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, "com.amazonaws.us-east-1.logs", account, fakeec2.DefaultPolicy))
	f := newFindingsFixture(t, ec2, nil, fakesecurityhub.New())
	outcomes, _, err := f.invoke(createEvent(endpointID))
	if err != nil || len(outcomes) != 1 || outcomes[0].Region != "us-east-1" {
		t.Fatalf("outcomes %+v, %v; want the endpoint checked against us-east-1's template", outcomes, err)
	}
	got, ok := f.hub.Finding(findingID(endpointID))
	if !ok || got.ProductARN != "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default" ||
		got.Resources[0].ID != "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/"+endpointID {
		t.Errorf("finding %v: %+v", ok, got)
	}
}

// deadlines records the deadline of every call's context.
type deadlines struct {
	*fakesecurityhub.Hub
	seen []time.Time
}

func (d *deadlines) BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput) (*securityhub.BatchImportFindingsOutput, error) {
	deadline, _ := ctx.Deadline()
	d.seen = append(d.seen, deadline)
	return d.Hub.BatchImportFindings(ctx, in)
}

// The findings' calls end half-way through the margin after the cutoff.
func TestFindingsEndBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	start := time.Now()
	deadline := start.Add(10 * time.Minute)
	if got, want := handler.FindingsDeadline(handler.Cutoff(start, deadline), deadline), deadline.Add(-30*time.Second); !got.Equal(want) {
		t.Errorf("FindingsDeadline %v, want %v: half of the one-minute margin", got, want)
	}

	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
	hub := &deadlines{Hub: fakesecurityhub.New()}
	cfg, _ := config.FromEnv(func(string) string { return "" })
	h := handler.NewWith(handler.Options{Remediator: remediate.New(ec2, region, cfg), Log: slog.New(slog.DiscardHandler),
		Metrics: &bytes.Buffer{}, Clock: fakeclock.At(start), Findings: findings.NewPublisher(findings.OneClient{Client: hub}, slog.New(slog.DiscardHandler))})
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	if _, err := h.Handle(ctx, createEvent(endpointID)); err != nil {
		t.Fatal(err)
	}
	if want := deadline.Add(-30 * time.Second); len(hub.seen) != 1 || !hub.seen[0].Equal(want) {
		t.Errorf("import deadlines %v, want %v", hub.seen, want)
	}
}

// In a hub, a unit's findings go to its member account's Security Hub in
// the unit's region; an account whose role refuses gets none, and the unit
// still succeeds.
func TestFindingsOfAHub(t *testing.T) {
	t.Parallel()
	members := fakeec2.Members{
		memberA + "/us-east-1": fakeec2.New(fakeec2.Endpoint("vpce-00000001", "com.amazonaws.us-east-1.logs", memberA, fakeec2.DefaultPolicy)),
		memberB + "/eu-west-1": fakeec2.New(fakeec2.Endpoint("vpce-00000002", logs, memberB, fakeec2.DefaultPolicy)),
	}
	hubs := fakesecurityhub.Hubs{memberA + "/us-east-1": fakesecurityhub.New()} // memberB's role has no Security Hub permission
	cfg, _ := config.FromEnv(func(string) string { return "" })
	cfg.MaxWritesPerSecond = 0
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := handler.NewWith(handler.Options{Remediator: remediate.NewHub(members, cfg), Log: log, Metrics: &bytes.Buffer{},
		Findings: findings.NewPublisher(hubs, log)})
	for _, u := range []fanout.Unit{{Account: memberA, Region: "us-east-1"}, {Account: memberB, Region: "eu-west-1"}} {
		summary, err := h.Handle(t.Context(), sqsEvent(t, u))
		if err != nil || summary.Actions[remediate.Rewritten] != 1 {
			t.Fatalf("unit %+v: %+v, %v; want its endpoint rewritten", u, summary, err)
		}
	}
	at := findings.Place{Account: memberA, Region: "us-east-1"}
	got, ok := hubs[memberA+"/us-east-1"].Finding(findings.FindingID(at, "vpce-00000001"))
	if !ok || got.AwsAccountID != memberA || got.ProductARN != findings.ProductARN(at) {
		t.Errorf("member A's finding %v: %+v", ok, got)
	}
	var failed []map[string]any
	for _, r := range lines(t, &logs) {
		if r["msg"] == "findings not imported" {
			failed = append(failed, r)
		}
	}
	if len(failed) != 1 || failed[0]["account"] != memberB {
		t.Errorf("failure lines %v, want one for member B", failed)
	}
}
