package findings

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

// MaxBatch is the most findings one BatchImportFindings call takes, and the
// most BatchUpdateFindings updates at once.
const MaxBatch = 100

// Client is the part of Security Hub's API a Publisher calls.
type Client interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput) (*securityhub.BatchUpdateFindingsOutput, error)
}

var _ Client = (*securityhub.Client)(nil)

// Clients gives the Security Hub client of an account and region: in an
// organization's hub, through the member role there, since the default
// product ARN takes only its own account's findings.
type Clients interface {
	SecurityHub(ctx context.Context, account, region string) (Client, error)
}

// OneClient is the Clients of a single-account function: its own account's
// Security Hub in its own region, the only place its endpoints are.
type OneClient struct{ Client Client }

// SecurityHub returns the one client.
func (c OneClient) SecurityHub(context.Context, string, string) (Client, error) { return c.Client, nil }

// Publisher imports findings into Security Hub. Create it once at cold
// start; it is safe for concurrent use.
type Publisher struct {
	clients Clients
	log     *slog.Logger
}

// NewPublisher returns a Publisher that reaches Security Hub through
// clients and logs what failed to log.
func NewPublisher(clients Clients, log *slog.Logger) *Publisher {
	return &Publisher{clients: clients, log: log}
}

// Counts is what one import came to.
type Counts struct {
	// Imported counts the findings Security Hub took.
	Imported int
	// Failed counts those it did not take, and those of rewritten endpoints
	// it took but did not resolve.
	Failed int
}

// Batch holds the findings of one invocation until they are imported. It
// is safe for concurrent use.
type Batch struct {
	p      *Publisher
	now    func() time.Time
	report func(Counts)

	mu      sync.Mutex
	pending map[Place]*pending
	places  []Place // in the order first seen, for a flush in a stable order
}

// pending are the findings waiting for one account and region.
type pending struct {
	findings []Finding
	index    map[string]int // by Id: a later outcome of an endpoint replaces the earlier
}

// Start begins an invocation's batch: now stamps the findings, and report
// (which may be nil) gets the counts of every import as it ends.
func (p *Publisher) Start(now func() time.Time, report func(Counts)) *Batch {
	if report == nil {
		report = func(Counts) {}
	}
	return &Batch{p: p, now: now, report: report, pending: map[Place]*pending{}}
}

// Add turns o, the outcome of an endpoint looked up in region, into a
// finding, and imports its account and region's findings once MaxBatch are
// waiting. An outcome that makes no finding is left out.
func (b *Batch) Add(ctx context.Context, region string, o remediate.Outcome) {
	f, ok := FromOutcome(o, region, b.now())
	if !ok {
		return
	}
	at := Place{Account: o.Account, Region: region}
	if full := b.add(at, f); full != nil {
		b.send(ctx, at, full)
	}
}

// add queues f and returns the findings of at when they fill a batch.
func (b *Batch) add(at Place, f Finding) []Finding {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.pending[at]
	if !ok {
		q = &pending{index: map[string]int{}}
		b.pending[at] = q
		b.places = append(b.places, at)
	}
	// One Id twice in a request is refused: the later check is the truth.
	if i, seen := q.index[f.ID()]; seen {
		q.findings[i] = f
		return nil
	}
	q.index[f.ID()] = len(q.findings)
	q.findings = append(q.findings, f)
	if len(q.findings) < MaxBatch {
		return nil
	}
	full := q.findings
	q.findings, q.index = nil, map[string]int{}
	return full
}

// Flush imports every finding still waiting. It returns when Security Hub
// has answered, or ctx ended; nothing it meets is returned.
func (b *Batch) Flush(ctx context.Context) {
	b.mu.Lock()
	var sends []func()
	for _, at := range b.places {
		if q := b.pending[at]; len(q.findings) > 0 {
			findings := q.findings
			q.findings, q.index = nil, map[string]int{}
			sends = append(sends, func() { b.send(ctx, at, findings) })
		}
	}
	b.mu.Unlock()
	for _, send := range sends {
		send()
	}
}

// send imports findings into at's Security Hub, then resolves those of
// rewritten endpoints, and reports the counts.
func (b *Batch) send(ctx context.Context, at Place, findings []Finding) {
	c := b.p.send(ctx, at, findings, b.now())
	b.report(c)
}

func (p *Publisher) send(ctx context.Context, at Place, findings []Finding, now time.Time) Counts {
	client, err := p.clients.SecurityHub(ctx, at.Account, at.Region)
	if err != nil {
		p.notImported(ctx, at, findings, err)
		return Counts{Failed: len(findings)}
	}
	asff := make([]securityhub.AwsSecurityFinding, len(findings))
	for i, f := range findings {
		asff[i] = f.ASFF
	}
	out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: asff})
	if err != nil {
		p.notImported(ctx, at, findings, err)
		return Counts{Failed: len(findings)}
	}
	endpoints := map[string]string{}
	for _, f := range findings {
		endpoints[f.ID()] = f.EndpointID
	}
	refused := p.refused(ctx, at, out.FailedFindings, endpoints)
	// FailedCount can say more than FailedFindings lists, never more than
	// were sent.
	failed := min(max(len(refused), out.FailedCount), len(findings))
	c := Counts{Imported: len(findings) - failed, Failed: failed}

	var resolve []Finding
	for _, f := range findings {
		if f.Resolve && !refused[f.ID()] {
			resolve = append(resolve, f)
		}
	}
	unresolved := p.resolve(ctx, client, at, resolve, now)
	c.Failed += unresolved
	p.log.LogAttrs(ctx, slog.LevelInfo, "findings imported",
		slog.String("account", at.Account), slog.String("region", at.Region),
		slog.Int("imported", c.Imported), slog.Int("refused", failed),
		slog.Int("resolved", len(resolve)-unresolved), slog.Int("notResolved", unresolved))
	return c
}

// refused logs the findings Security Hub did not take, one line per error
// code (an account without Security Hub refuses every finding alike), and
// returns their IDs.
func (p *Publisher) refused(ctx context.Context, at Place, failed []securityhub.ImportFindingsError, endpoints map[string]string) map[string]bool {
	refused := map[string]bool{}
	var codes []string
	byCode := map[string][]securityhub.ImportFindingsError{}
	for _, ff := range failed {
		refused[ff.ID] = true
		code := ff.ErrorCode
		if _, seen := byCode[code]; !seen {
			codes = append(codes, code)
		}
		byCode[code] = append(byCode[code], ff)
	}
	for _, code := range codes {
		ids := make([]string, len(byCode[code]))
		for i, ff := range byCode[code] {
			ids[i] = endpoints[ff.ID]
		}
		otherwise := ifNotImported
		if code == "InvalidAccess" {
			otherwise = notEnabled(at)
		}
		p.log.LogAttrs(ctx, slog.LevelWarn, "findings refused",
			slog.String("account", at.Account), slog.String("region", at.Region),
			slog.String("errorCode", code), slog.String("errorMessage", byCode[code][0].ErrorMessage),
			slog.Int("findings", len(ids)), slog.Any("endpointIds", ids), slog.String("hint", otherwise))
	}
	return refused
}

// resolve sets the workflow of the findings of rewritten endpoints to
// RESOLVED, with a note: an import does so for a new finding only. It
// returns how many it could not resolve.
func (p *Publisher) resolve(ctx context.Context, client Client, at Place, findings []Finding, now time.Time) int {
	if len(findings) == 0 {
		return 0
	}
	ids := make([]securityhub.AwsSecurityFindingIdentifier, len(findings))
	for i, f := range findings {
		ids[i] = securityhub.AwsSecurityFindingIdentifier{ID: f.ASFF.ID, ProductARN: f.ASFF.ProductARN}
	}
	note := "vpce-guard rewrote the endpoint's policy to its template at " + now.UTC().Format(time.RFC3339) + "."
	out, err := client.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: ids,
		Workflow:           &securityhub.WorkflowUpdate{Status: securityhub.WorkflowStatusResolved},
		Note:               &securityhub.NoteUpdate{Text: cut(note, MaxNote), UpdatedBy: UpdatedBy},
	})
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "findings not resolved",
			slog.String("account", at.Account), slog.String("region", at.Region),
			slog.Int("findings", len(findings)), slog.String("error", err.Error()), slog.String("hint", hint(err, at, "securityhub:BatchUpdateFindings", ifUnresolved)))
		return len(findings)
	}
	failed := 0
	for _, u := range out.UnprocessedFindings {
		var id string
		if u.FindingIdentifier != nil {
			id = u.FindingIdentifier.ID
		}
		code := u.ErrorCode
		if code == "FindingNotFound" {
			// A finding the import above created, not yet found by the
			// update: its creation already set RESOLVED.
			p.log.LogAttrs(ctx, slog.LevelDebug, "new finding resolved at its creation", slog.String("findingId", id))
			continue
		}
		failed++
		p.log.LogAttrs(ctx, slog.LevelWarn, "finding not resolved",
			slog.String("account", at.Account), slog.String("region", at.Region), slog.String("findingId", id),
			slog.String("errorCode", code), slog.String("errorMessage", u.ErrorMessage))
	}
	return failed
}

// notImported logs a batch Security Hub did not take at all.
func (p *Publisher) notImported(ctx context.Context, at Place, findings []Finding, err error) {
	ids := make([]string, len(findings))
	for i, f := range findings {
		ids[i] = f.EndpointID
	}
	p.log.LogAttrs(ctx, slog.LevelError, "findings not imported",
		slog.String("account", at.Account), slog.String("region", at.Region),
		slog.Int("findings", len(findings)), slog.Any("endpointIds", ids),
		slog.String("error", err.Error()), slog.String("hint", hint(err, at, "securityhub:BatchImportFindings", ifNotImported)))
}

// What a failure leaves, when its cause is not known better.
const (
	ifNotImported = "the endpoint's next check imports its finding again"
	ifUnresolved  = "the findings say PASSED but keep their workflow status: resolve them in the console"
)

func notEnabled(at Place) string {
	return "Security Hub is not enabled in account " + at.Account + " in " + at.Region
}

// hint says what to look at for the errors whose cause is known, and else
// what the failure leaves behind.
func hint(err error, at Place, action, otherwise string) string {
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) {
		return otherwise
	}
	switch apiErr.ErrorCode() {
	case "InvalidAccessException":
		return notEnabled(at)
	case "AccessDeniedException":
		return "the role needs " + action + " (the stack grants it with the context findings=securityhub)"
	}
	return otherwise
}
