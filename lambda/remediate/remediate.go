package remediate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// ErrMissingPermission is wrapped by the error of an AWS call refused with
// UnauthorizedOperation; the message names the permission to grant.
var ErrMissingPermission = errors.New("missing permission")

// SweepEventName labels the outcomes of a scheduled sweep, whose event has no name.
const SweepEventName = "ScheduledSweep"

// Clients gives the EC2 client that reaches an account's endpoints in a
// region: in an organization's hub, through the role vpce-guard's member
// stacks put in every account. Its error says which account and role failed.
type Clients interface {
	EC2(ctx context.Context, account, region string) (EC2, error)
}

// Remediator checks and rewrites endpoints: those of one region, with one
// client, or in a hub those of any account and region its Clients reach. It
// is safe for concurrent use and meant to be created once per process.
type Remediator struct {
	clients Clients
	// region is the one region a single-account Remediator guards; "" in a
	// hub, which acts in each call's own region.
	region    string
	hub       bool
	cfg       config.Config
	templates *templates

	mu     sync.Mutex
	pacers map[place]*pacer // by account and region, as EC2 counts its tokens
}

// New returns a Remediator for the endpoints client reaches in region. region
// may be empty when unknown; it then only labels fewer outcomes.
func New(client EC2, region string, cfg config.Config) *Remediator {
	r := newRemediator(oneClient{client}, cfg)
	r.region = region
	return r
}

// NewHub returns a Remediator for an organization's hub: it acts in each
// call's account and region, with the client clients gives for them.
func NewHub(clients Clients, cfg config.Config) *Remediator {
	r := newRemediator(clients, cfg)
	r.hub = true
	return r
}

func newRemediator(clients Clients, cfg config.Config) *Remediator {
	return &Remediator{
		clients:   clients,
		cfg:       cfg,
		templates: &templates{params: cfg.TemplateParams(), mode: cfg.Mode},
		pacers:    map[place]*pacer{},
	}
}

// oneClient is the Clients of a single-account Remediator.
type oneClient struct{ ec2 EC2 }

func (c oneClient) EC2(context.Context, string, string) (EC2, error) { return c.ec2, nil }

// place is an account and region, where EC2 calls go.
type place struct{ account, region string }

// pacer is the write pacer of an account and region.
func (r *Remediator) pacer(p place) *pacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.pacers[p]
	if !ok {
		w = &pacer{interval: writeInterval(r.cfg.MaxWritesPerSecond)}
		r.pacers[p] = w
	}
	return w
}

// writeInterval is the time between two writes at perSecond; zero (no
// pacing) for a rate of zero or less.
func writeInterval(perSecond float64) time.Duration {
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / perSecond)
}

// HandleCall checks every endpoint call names, or every endpoint of the region
// for a sweep, and gives each outcome to run.Record as soon as it is known. A
// call with a SkipReason gives one Skipped outcome and makes no AWS call.
//
// For the endpoints an event names, the error joins the errors of those that
// failed, ErrDeadlineNear among them when the cutoff left some unchecked; the
// outcomes of all the others are complete. A sweep fails only when it cannot
// list the endpoints (see Sweep). In a hub a sweep is not a call: the
// organization's sweep hands out one SweepUnit per account and region.
func (r *Remediator) HandleCall(ctx context.Context, call cloudtrail.Call, run Run) (Result, error) {
	origin := r.origin(call)
	skip := func(reason string) Outcome {
		o := origin.outcome()
		o.Account, o.Region = call.Account, call.Region
		o.Reasons = []string{reason}
		return o
	}
	switch {
	case call.SkipReason != "":
		run.record(skip(call.SkipReason))
		return Result{}, nil
	case call.Sweep && r.hub:
		return Result{}, errors.New("a hub sweeps one account and region at a time (SweepUnit), not a whole call")
	case call.Sweep:
		origin.EventName = cmp.Or(origin.EventName, SweepEventName)
		return r.Sweep(ctx, origin, run)
	case len(call.EndpointIDs) == 0:
		run.record(skip("no endpoint ID in the call"))
		return Result{}, nil
	}

	at := place{account: call.Account, region: cmp.Or(r.region, call.Region)}
	// The client reaches another region, where these IDs do not exist: say so
	// rather than report them as not found.
	foreign := !r.hub && call.Region != "" && r.region != "" && call.Region != r.region
	var client EC2
	var clientErr error
	if !foreign {
		client, clientErr = r.clients.EC2(ctx, at.account, at.region)
	}
	var res Result
	var errs []error
	for _, id := range call.EndpointIDs {
		var o Outcome
		var err error
		switch {
		case foreign:
			o = skip(fmt.Sprintf("the event is from %s and this function guards %s", call.Region, r.region))
			o.EndpointID = id
		case clientErr != nil:
			o, err = r.unreachable(origin, id, at, clientErr), fmt.Errorf("vpc endpoint %s: %w", id, clientErr)
		case run.late():
			o, err = r.notChecked(origin, id, at), ErrDeadlineNear
		default:
			o, err = r.checkByID(ctx, client, id, at, origin, run)
		}
		run.record(o)
		if errors.Is(err, ErrDeadlineNear) {
			res.Stopped = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// notChecked is the outcome of an endpoint the cutoff left unchecked.
func (r *Remediator) notChecked(origin Origin, id string, at place) Outcome {
	o := origin.outcome()
	o.EndpointID, o.Account, o.Region = id, at.account, at.region
	o.Reasons = []string{"the invocation stopped before this endpoint, to end before its deadline"}
	o.Error = errNotChecked
	return o
}

// unreachable is the outcome of an endpoint whose account could not be
// reached (in a hub: the member role is missing or refuses).
func (r *Remediator) unreachable(origin Origin, id string, at place, err error) Outcome {
	o := origin.outcome()
	o.EndpointID, o.Account, o.Region = id, at.account, at.region
	o.Reasons = []string{fmt.Sprintf("could not reach account %s in %s", cmp.Or(at.account, "(unknown)"), cmp.Or(at.region, "(unknown)"))}
	o.Error = err.Error()
	return o
}

// origin labels the outcomes of a call with who made it: vpce-guard itself
// is its role, or in a hub the member role of whichever account.
func (r *Remediator) origin(call cloudtrail.Call) Origin {
	c := call.Caller
	var who *cloudtrail.Caller
	if !call.Sweep {
		who = &c
	}
	own := r.cfg.SelfRoleARN != "" && (c.SessionIssuerARN == r.cfg.SelfRoleARN || c.ARN == r.cfg.SelfRoleARN)
	if r.hub && r.cfg.Hub != nil {
		own = own || strings.HasSuffix(c.SessionIssuerARN, ":role/"+r.cfg.Hub.RoleName)
	}
	return Origin{
		EventID:   call.EventID,
		EventName: call.EventName,
		Caller:    cmp.Or(c.ARN, c.SessionIssuerARN, c.InvokedBy, c.PrincipalID),
		OwnCall:   own,
		Who:       who,
	}
}

// checkByID describes one endpoint, the one AWS read per endpoint per event,
// and checks it. at.account is the event's, for an endpoint that does not
// name its owner.
func (r *Remediator) checkByID(ctx context.Context, client EC2, id string, at place, origin Origin, run Run) (Outcome, error) {
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil && !isNotFound(err) {
		err = awsError("describe vpc endpoint "+id, "ec2:DescribeVpcEndpoints", err)
		o := origin.outcome()
		o.EndpointID, o.Account, o.Region = id, at.account, at.region
		o.Reasons = []string{"could not read the endpoint's current state"}
		o.Error = err.Error()
		return o, err
	}
	if err == nil {
		for _, e := range out.VpcEndpoints {
			if aws.ToString(e.VpcEndpointId) == id {
				if e.OwnerId == nil {
					e.OwnerId = aws.String(at.account)
				}
				return r.check(ctx, client, e, at.region, origin, run)
			}
		}
	}
	o := origin.outcome()
	o.EndpointID, o.Account, o.Region = id, at.account, at.region
	o.Verdict = NotFound
	o.Reasons = []string{"the endpoint does not exist (any more)"}
	return o, nil
}

// check decides about an endpoint whose state was just described in region,
// and writes the new policy if it must, when its turn comes
// (MaxWritesPerSecond) and unless the run's cutoff comes first. It makes at
// most one AWS call, the write.
func (r *Remediator) check(ctx context.Context, client EC2, e types.VpcEndpoint, region string, origin Origin, run Run) (Outcome, error) {
	d := r.decide(client, e, region, origin)
	if d.written == nil {
		return d.outcome, d.err
	}
	if !r.pacer(d.at).wait(ctx, run) {
		return d.notWritten()
	}
	return r.write(ctx, d, run)
}

// decision is what an endpoint needs: written is set when a policy must be
// written, with client, in place at.
type decision struct {
	outcome Outcome
	written *Written
	after   string // the written policy's hash
	err     error
	client  EC2
	at      place
}

// notWritten is the outcome of a write the cutoff kept from starting.
func (d decision) notWritten() (Outcome, error) {
	d.outcome.Error = errNotRewritten
	return d.outcome, fmt.Errorf("vpc endpoint %s: %w", d.outcome.EndpointID, ErrDeadlineNear)
}

// decide checks an endpoint's policy, listed or described with client in
// region; it makes no AWS call.
func (r *Remediator) decide(client EC2, e types.VpcEndpoint, region string, origin Origin) decision {
	o := origin.outcome()
	o.EndpointID = aws.ToString(e.VpcEndpointId)
	o.ServiceName = aws.ToString(e.ServiceName)
	o.Account = aws.ToString(e.OwnerId)
	o.Region = region
	current := aws.ToString(e.PolicyDocument)
	o.PolicyBeforeText = current
	doc, parseErr := policy.Parse([]byte(current))
	switch {
	case current == "":
	case parseErr != nil:
		o.PolicyBefore = hashPolicy([]byte(current))
	default:
		o.PolicyBefore = hashPolicy(doc.Normalize().JSON())
	}
	o.PolicyAfter, o.PolicyAfterText = o.PolicyBefore, o.PolicyBeforeText

	if gone(e.State) {
		o.Reasons = []string{fmt.Sprintf("the endpoint is %s", strings.ToLower(string(e.State)))}
		return decision{outcome: o}
	}
	name, serviceRegion, ok := policytemplates.TemplateFor(o.ServiceName, r.cfg.Templates)
	if !ok {
		o.Reasons = []string{fmt.Sprintf("no template guards %s", quoteOrNone(o.ServiceName))}
		return decision{outcome: o}
	}
	// The template is the service's region's: an endpoint can reach another
	// region's service.
	o.Region = serviceRegion
	if tag, ok := r.exemptTag(e.Tags); ok {
		o.Verdict = Exempt
		o.Reasons = []string{fmt.Sprintf("tagged %s", tag)}
		return decision{outcome: o}
	}
	tpl, err := r.templates.get(name, serviceRegion, o.Account)
	if err != nil {
		o.Reasons = []string{"could not render the template"}
		o.Error = err.Error()
		return decision{outcome: o, err: fmt.Errorf("vpc endpoint %s: %w", o.EndpointID, err)}
	}

	var parsed *policy.Document // nil for an endpoint without a policy, or one that cannot be read
	switch {
	case current == "":
		o.Verdict = NonCompliant
		o.Reasons = []string{"the endpoint has no policy document, which allows everything"}
		o.Proof, o.Witnesses = tpl.withoutPolicy.Proof, tpl.withoutPolicy.Witnesses
	case parseErr != nil:
		o.Verdict = NonCompliant
		// A parse error may quote a value of thousands of characters.
		o.Reasons = policy.Brief([]string{fmt.Sprintf("the current policy cannot be read: %v", parseErr)}, 1)
		o.Proof = policy.ProofUnproven
	default:
		parsed = doc
		v := policy.Check(doc, tpl.Doc, r.cfg.Mode, tpl.Carries...)
		o.Notes = v.Notes
		if v.Compliant {
			o.Verdict = Compliant
			return decision{outcome: o}
		}
		o.Verdict = NonCompliant
		o.Reasons, o.Proof, o.Witnesses = v.Reasons, v.Proof, v.Witnesses
	}
	o.Reasons = append(o.Reasons, r.history(&o, e.Tags, origin)...)

	written := Rewrite(parsed, tpl.Template, r.cfg.Rewrite)
	o.Rewrite, o.RewriteFallback = written.How, written.Fallback
	grants := written.Widens(parsed, tpl.Carries, parseErr != nil && current != "")
	o.Widens = &grants
	after := tpl.hash
	if written.How == config.RewriteNarrow {
		after = hashPolicy(written.Doc.Normalize().JSON())
	}
	if r.cfg.DryRun {
		o.Action = WouldRewrite
		o.PolicyAfter, o.PolicyAfterText = after, written.Text
		return decision{outcome: o}
	}
	return decision{outcome: o, written: &written, after: after, client: client, at: place{account: o.Account, region: region}}
}

// history says what a non-compliant endpoint's tags and origin tell about
// how it got there: an earlier rewrite undone, and who manages it.
func (r *Remediator) history(o *Outcome, tags []types.Tag, origin Origin) []string {
	byKey := make(map[string]string, len(tags))
	for _, t := range tags {
		byKey[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	var reasons []string
	if before, ok := byKey[config.RewrittenTagKey]; ok {
		o.RewrittenBefore = cmp.Or(before, "(unknown)")
		reasons = append(reasons, fmt.Sprintf("vpce-guard rewrote this endpoint's policy before (tag %s=%s), and a broader one was put back since", config.RewrittenTagKey, o.RewrittenBefore))
	}
	who := origin.Who
	if origin.OwnCall {
		who = nil // vpce-guard's own call tells nothing about the owner
	}
	if own, ok := owner.Find(byKey, who); ok {
		o.Owner = &own
		reasons = append(reasons, own.Reason())
	}
	return reasons
}

// write puts the new policy on the endpoint, then records the rewrite on
// it: the two AWS calls of a decision.
func (r *Remediator) write(ctx context.Context, d decision, run Run) (Outcome, error) {
	o := d.outcome
	_, err := d.client.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{
		VpcEndpointId:  aws.String(o.EndpointID),
		PolicyDocument: aws.String(d.written.Text),
	})
	if isNotFound(err) {
		// Deleted between the Describe and the write: nothing is left to
		// guard, and retrying the event could not help.
		o.Verdict = NotFound
		o.Reasons = append(o.Reasons, "the endpoint was deleted before the template could be written")
		return o, nil
	}
	if err != nil {
		err = awsError("modify vpc endpoint "+o.EndpointID, "ec2:ModifyVpcEndpoint", err)
		o.Error = err.Error()
		return o, err
	}
	o.Action = Rewritten
	o.PolicyAfter, o.PolicyAfterText = d.after, d.written.Text
	// The policy is right whatever comes next: a failure here is reported,
	// not retried, since a retry would find the endpoint compliant.
	_, err = d.client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{o.EndpointID},
		Tags:      []types.Tag{{Key: aws.String(config.RewrittenTagKey), Value: aws.String(run.now().UTC().Format(time.RFC3339))}},
	})
	if err != nil {
		o.RecordError = awsError("tag vpc endpoint "+o.EndpointID, "ec2:CreateTags", err).Error()
	}
	return o, nil
}

// gone reports the states in which an endpoint cannot, or need not, be fixed.
// EC2 spells states in lower case on the wire and in PascalCase in the SDK.
func gone(s types.State) bool {
	switch strings.ToLower(string(s)) {
	case "deleted", "deleting", "failed", "rejected", "expired":
		return true
	}
	return false
}

func (r *Remediator) exemptTag(tags []types.Tag) (config.Tag, bool) {
	for _, t := range tags {
		if r.cfg.ExemptTag.Matches(aws.ToString(t.Key), aws.ToString(t.Value)) {
			return config.Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)}, true
		}
	}
	return config.Tag{}, false
}

// errorCode is the EC2 error code of an API error, such as
// InvalidVpcEndpointId.NotFound; "" for any other error. The SDK's errors
// (smithy.APIError) have the method, so no SDK type needs importing.
func errorCode(err error) string {
	var apiErr interface{ ErrorCode() string }
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func isNotFound(err error) bool { return errorCode(err) == "InvalidVpcEndpointId.NotFound" }

// awsError adds what was being done and, when AWS refused the call for lack of
// a permission, which permission to grant.
func awsError(doing, permission string, err error) error {
	if errorCode(err) == "UnauthorizedOperation" {
		return fmt.Errorf("%s: %w %s: %w", doing, ErrMissingPermission, permission, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "an endpoint without a service name"
	}
	return s
}
