package findings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/vpce-guard/vpce-guard/internal/fakesecurityhub"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

// publisher is a batch on one fake Security Hub, with its log and the counts
// it reported.
type publisher struct {
	hub    *fakesecurityhub.Hub
	batch  *findings.Batch
	log    *bytes.Buffer
	counts []findings.Counts
}

func newPublisher(t *testing.T, configure func(*fakesecurityhub.Hub)) *publisher {
	t.Helper()
	hub := fakesecurityhub.New()
	if configure != nil {
		configure(hub)
	}
	p := &publisher{hub: hub, log: &bytes.Buffer{}}
	logger := slog.New(slog.NewJSONHandler(p.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p.batch = findings.NewPublisher(findings.OneClient{Client: hub}, logger).Start(
		func() time.Time { return checkedAt }, func(c findings.Counts) { p.counts = append(p.counts, c) })
	return p
}

func (p *publisher) total() findings.Counts {
	var c findings.Counts
	for _, n := range p.counts {
		c.Imported += n.Imported
		c.Failed += n.Failed
	}
	return c
}

// lines are the log's lines with message msg.
func (p *publisher) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(p.log.String()), "\n") {
		var m map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// open is the outcome of endpoint number i, rewritten.
func open(i int) remediate.Outcome {
	return outcome(func(o *remediate.Outcome) { o.EndpointID = fmt.Sprintf("vpce-%017d", i) })
}

func compliant(i int) remediate.Outcome {
	o := open(i)
	o.Verdict, o.Action, o.Reasons = remediate.Compliant, remediate.None, []string{}
	return o
}

// Findings go a hundred to an import, as soon as a hundred are waiting; the
// rest when the batch is flushed.
func TestBatchImportsAHundredAtATime(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, nil)
	ctx := t.Context()
	for i := range 250 {
		p.batch.Add(ctx, region, compliant(i))
		if want := (i + 1) / findings.MaxBatch; len(p.hub.Imports()) != want {
			t.Fatalf("after %d findings, %d imports; want %d", i+1, len(p.hub.Imports()), want)
		}
	}
	p.batch.Flush(ctx)
	var sizes []int
	for _, batch := range p.hub.Imports() {
		sizes = append(sizes, len(batch))
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("imports of %v findings, want 100, 100, 50", sizes)
	}
	if p.hub.Findings() != 250 || p.total() != (findings.Counts{Imported: 250}) || len(p.counts) != 3 {
		t.Errorf("%d findings stored, counts %+v in %d reports; want 250, all imported, in 3", p.hub.Findings(), p.total(), len(p.counts))
	}
	if len(p.hub.Updates()) != 0 {
		t.Errorf("%d updates; nothing was rewritten", len(p.hub.Updates()))
	}
	p.batch.Flush(ctx)
	if len(p.hub.Imports()) != 3 {
		t.Error("a second flush imported again")
	}
}

// An endpoint checked twice in one invocation is one finding, the later.
func TestBatchKeepsTheLaterCheck(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, nil)
	dry := open(1)
	dry.Action = remediate.WouldRewrite
	p.batch.Add(t.Context(), region, dry)
	p.batch.Add(t.Context(), region, compliant(1))
	p.batch.Flush(t.Context())
	imports := p.hub.Imports()
	if len(imports) != 1 || len(imports[0]) != 1 || complianceOf(imports[0][0]) != securityhub.ComplianceStatusPassed {
		t.Errorf("imports %+v; want one finding, PASSED", imports)
	}
}

// Each account and region's findings go to that account's Security Hub
// there, under its own product ARN.
func TestBatchSendsEachPlaceItsOwn(t *testing.T) {
	t.Parallel()
	places := []findings.Place{{"111122223333", "eu-west-1"}, {"444455556666", "eu-west-1"}, {"111122223333", "us-east-1"}}
	clients := fakesecurityhub.Hubs{}
	for _, at := range places {
		clients[at.Account+"/"+at.Region] = fakesecurityhub.New()
	}
	batch := findings.NewPublisher(clients, slog.New(slog.DiscardHandler)).Start(time.Now, nil)
	for i, at := range places {
		o := compliant(i)
		o.Account = at.Account
		batch.Add(t.Context(), at.Region, o)
	}
	batch.Flush(t.Context())
	for i, at := range places {
		imports := clients[at.Account+"/"+at.Region].Imports()
		if len(imports) != 1 || len(imports[0]) != 1 {
			t.Fatalf("%v: imports %+v, want one of one finding", at, imports)
		}
		f := imports[0][0]
		if f.AwsAccountID != at.Account || f.ProductARN != findings.ProductARN(at) ||
			f.ID != findings.FindingID(at, compliant(i).EndpointID) {
			t.Errorf("%v: finding of %s under %s, id %s", at, f.AwsAccountID, f.ProductARN, f.ID)
		}
	}
}

// A rewritten endpoint's finding, FAILED and NEW from an earlier dry run,
// is PASSED after the import and RESOLVED after the update, with a note:
// the import alone keeps an existing finding's workflow.
func TestBatchResolvesRewrittenEndpoints(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, nil)
	ctx := t.Context()
	dry := open(1)
	dry.Action = remediate.WouldRewrite
	p.batch.Add(ctx, region, dry)
	p.batch.Add(ctx, region, compliant(2))
	p.batch.Flush(ctx)

	p.batch.Add(ctx, region, open(1))
	p.batch.Add(ctx, region, open(3)) // new: resolved by its import
	p.batch.Add(ctx, region, compliant(2))
	p.batch.Flush(ctx)

	updates := p.hub.Updates()
	if len(updates) != 1 {
		t.Fatalf("%d updates, want 1", len(updates))
	}
	u := updates[0]
	var ids []string
	for _, ident := range u.FindingIdentifiers {
		ids = append(ids, ident.ID)
		if ident.ProductARN != findings.ProductARN(findings.Place{Account: account, Region: region}) {
			t.Errorf("identifier %s under product %s", ident.ID, ident.ProductARN)
		}
	}
	at := findings.Place{Account: account, Region: region}
	want := []string{findings.FindingID(at, open(1).EndpointID), findings.FindingID(at, open(3).EndpointID)}
	if !slices.Equal(ids, want) {
		t.Errorf("updated %q, want the rewritten ones %q", ids, want)
	}
	if u.Workflow == nil || u.Workflow.Status != securityhub.WorkflowStatusResolved || u.Note == nil ||
		u.Note.UpdatedBy != "vpce-guard" || !strings.Contains(u.Note.Text, "rewrote") {
		t.Errorf("update %+v %+v; want RESOLVED with vpce-guard's note", u.Workflow, u.Note)
	}
	for _, tt := range []struct {
		endpoint   string
		compliance securityhub.ComplianceStatus
		workflow   securityhub.WorkflowStatus
	}{
		{open(1).EndpointID, securityhub.ComplianceStatusPassed, securityhub.WorkflowStatusResolved},
		{open(3).EndpointID, securityhub.ComplianceStatusPassed, securityhub.WorkflowStatusResolved},
		{compliant(2).EndpointID, securityhub.ComplianceStatusPassed, securityhub.WorkflowStatusResolved},
	} {
		f, ok := p.hub.Finding(findings.FindingID(at, tt.endpoint))
		if !ok || complianceOf(f) != tt.compliance || workflowOf(f) != tt.workflow {
			t.Errorf("%s: %v %s/%s; want %s/%s", tt.endpoint, ok, complianceOf(f), workflowOf(f), tt.compliance, tt.workflow)
		}
	}
	if p.total() != (findings.Counts{Imported: 5}) {
		t.Errorf("counts %+v, want 5 imported, none failed", p.total())
	}
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "refused by the test"}
}

// Failures are logged and counted, and nothing else: Add and Flush return
// nothing, and the findings Security Hub took are counted as taken.
func TestBatchFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		configure func(*fakesecurityhub.Hub)
		reachErr  bool // the account's client cannot be had
		want      findings.Counts
		message   string // the log line
		level     string
		hint      string
	}{
		{name: "Security Hub not enabled", configure: func(h *fakesecurityhub.Hub) { h.ImportErr = apiError("InvalidAccessException") },
			want: findings.Counts{Failed: 3}, message: "findings not imported", level: "ERROR", hint: "Security Hub is not enabled in account 111122223333 in eu-west-1"},
		{name: "import not allowed", configure: func(h *fakesecurityhub.Hub) { h.ImportErr = apiError("AccessDeniedException") },
			want: findings.Counts{Failed: 3}, message: "findings not imported", level: "ERROR", hint: "the role needs securityhub:BatchImportFindings"},
		{name: "throttled past the retries", configure: func(h *fakesecurityhub.Hub) { h.ImportErr = apiError("TooManyRequestsException") },
			want: findings.Counts{Failed: 3}, message: "findings not imported", level: "ERROR", hint: "the endpoint's next check imports its finding again"},
		{name: "member role refused", reachErr: true,
			want: findings.Counts{Failed: 3}, message: "findings not imported", level: "ERROR"},
		{name: "one finding refused", configure: func(h *fakesecurityhub.Hub) {
			h.Refuse = map[string]string{findings.FindingID(findings.Place{Account: account, Region: region}, open(2).EndpointID): "InvalidInput"}
		}, want: findings.Counts{Imported: 2, Failed: 1}, message: "findings refused", level: "WARN", hint: "the endpoint's next check imports its finding again"},
		{name: "every finding refused: not enabled", configure: func(h *fakesecurityhub.Hub) {
			at := findings.Place{Account: account, Region: region}
			h.Refuse = map[string]string{}
			for i := range 3 {
				h.Refuse[findings.FindingID(at, open(i+1).EndpointID)] = "InvalidAccess"
			}
		}, want: findings.Counts{Failed: 3}, message: "findings refused", level: "WARN", hint: "Security Hub is not enabled in account 111122223333 in eu-west-1"},
		{name: "update not allowed", configure: func(h *fakesecurityhub.Hub) { h.UpdateErr = apiError("AccessDeniedException") },
			want: findings.Counts{Imported: 3, Failed: 2}, message: "findings not resolved", level: "WARN", hint: "the role needs securityhub:BatchUpdateFindings"},
		{name: "update fails", configure: func(h *fakesecurityhub.Hub) { h.UpdateErr = errors.New("connection reset") },
			want: findings.Counts{Imported: 3, Failed: 2}, message: "findings not resolved", level: "WARN", hint: "resolve them in the console"},
		{name: "update concurrent with another", configure: func(h *fakesecurityhub.Hub) {
			h.Unprocessed = map[string]string{findings.FindingID(findings.Place{Account: account, Region: region}, open(1).EndpointID): "ConcurrentUpdateError"}
		}, want: findings.Counts{Imported: 3, Failed: 1}, message: "finding not resolved", level: "WARN"},
		{name: "new finding not found by the update", configure: func(h *fakesecurityhub.Hub) {
			h.Unprocessed = map[string]string{findings.FindingID(findings.Place{Account: account, Region: region}, open(1).EndpointID): "FindingNotFound"}
		}, want: findings.Counts{Imported: 3}, message: "new finding resolved at its creation", level: "DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPublisher(t, tt.configure)
			if tt.reachErr {
				clients := fakesecurityhub.Hubs{} // no member role anywhere
				logger := slog.New(slog.NewJSONHandler(p.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
				p.batch = findings.NewPublisher(clients, logger).Start(time.Now, func(c findings.Counts) { p.counts = append(p.counts, c) })
			}
			ctx := t.Context()
			p.batch.Add(ctx, region, open(1))
			p.batch.Add(ctx, region, open(2))
			p.batch.Add(ctx, region, compliant(3))
			p.batch.Flush(ctx)
			if p.total() != tt.want {
				t.Errorf("counts %+v, want %+v", p.total(), tt.want)
			}
			for _, u := range p.hub.Updates() {
				for _, ident := range u.FindingIdentifiers {
					if _, refused := p.hub.Refuse[ident.ID]; refused {
						t.Errorf("the finding Security Hub refused, %s, was to be resolved", ident.ID)
					}
				}
			}
			lines := p.lines(t, tt.message)
			if len(lines) == 0 {
				t.Fatalf("no %q line in the log:\n%s", tt.message, p.log)
			}
			l := lines[0]
			if l["level"] != tt.level || (tt.hint != "" && !strings.Contains(fmt.Sprint(l["hint"]), tt.hint)) {
				t.Errorf("log line %v; want level %s and a hint with %q", l, tt.level, tt.hint)
			}
			if (tt.message == "findings not imported" || tt.message == "findings refused") && !strings.Contains(fmt.Sprint(l["endpointIds"]), open(2).EndpointID) {
				t.Errorf("log line %v does not name the endpoints", l)
			}
		})
	}
}

// A flush whose context has ended gives up, logs, counts, and returns.
func TestBatchFlushAfterTheDeadline(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, func(h *fakesecurityhub.Hub) { h.ImportErr = context.DeadlineExceeded })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.batch.Add(ctx, region, open(1))
	p.batch.Flush(ctx)
	if p.total() != (findings.Counts{Failed: 1}) || len(p.lines(t, "findings not imported")) != 1 {
		t.Errorf("counts %+v, log:\n%s", p.total(), p.log)
	}
}

// Nothing to report, nothing sent.
func TestBatchWithoutFindings(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, nil)
	exempt := open(1)
	exempt.Verdict, exempt.Action = remediate.Exempt, remediate.None
	p.batch.Add(t.Context(), region, exempt)
	p.batch.Flush(t.Context())
	if len(p.hub.Imports()) != 0 || len(p.counts) != 0 {
		t.Errorf("%d imports, %d reports; want none", len(p.hub.Imports()), len(p.counts))
	}
}

// On the real client, an error answer reaches the log with its code and
// message, as the SDK's did, and the hint that the code calls for.
func TestBatchOnTheClient(t *testing.T) {
	t.Parallel()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"not authorized to perform: securityhub:BatchImportFindings"}`))
	}))
	defer hub.Close()
	client := securityhub.NewFromConfig(aws.Config{Region: region, Credentials: aws.AnonymousCredentials{}},
		func(o *securityhub.Options) { o.Endpoint.BaseEndpoint = hub.URL })
	var log bytes.Buffer
	batch := findings.NewPublisher(findings.OneClient{Client: client}, slog.New(slog.NewJSONHandler(&log, nil))).Start(time.Now, nil)
	batch.Add(t.Context(), region, open(1))
	batch.Flush(t.Context())
	p := &publisher{log: &log}
	lines := p.lines(t, "findings not imported")
	want := "operation error SecurityHub: BatchImportFindings, https response error StatusCode: 403, RequestID: req-1, " +
		"api error AccessDeniedException: not authorized to perform: securityhub:BatchImportFindings"
	if len(lines) != 1 || lines[0]["error"] != want || !strings.Contains(fmt.Sprint(lines[0]["hint"]), "the role needs securityhub:BatchImportFindings") {
		t.Errorf("lines %v; want one with the error\n%s\nand the permission's hint", lines, want)
	}
}
