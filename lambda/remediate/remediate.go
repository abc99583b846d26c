package remediate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// ErrMissingPermission is wrapped by the error of an AWS call refused with
// UnauthorizedOperation; the message names the permission to grant.
var ErrMissingPermission = errors.New("missing permission")

// SweepEventName labels the outcomes of a scheduled sweep, whose event has no name.
const SweepEventName = "ScheduledSweep"

// Remediator checks and rewrites the endpoints of one region. It is safe for
// concurrent use and meant to be created once per process.
type Remediator struct {
	ec2       EC2
	region    string
	cfg       config.Config
	templates *templates
	writes    *pacer
}

// New returns a Remediator for the endpoints client reaches in region. region
// may be empty when unknown; it then only labels fewer outcomes.
func New(client EC2, region string, cfg config.Config) *Remediator {
	return &Remediator{
		ec2:       client,
		region:    region,
		cfg:       cfg,
		templates: &templates{patterns: cfg.LogGroupPatterns},
		writes:    &pacer{interval: writeInterval(cfg.MaxWritesPerSecond)},
	}
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
// list the endpoints (see Sweep).
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
	case call.Sweep:
		origin.EventName = cmp.Or(origin.EventName, SweepEventName)
		return r.Sweep(ctx, origin, run)
	case len(call.EndpointIDs) == 0:
		run.record(skip("no endpoint ID in the call"))
		return Result{}, nil
	}

	// The client reaches another region, where these IDs do not exist: say so
	// rather than report them as not found.
	foreign := call.Region != "" && r.region != "" && call.Region != r.region
	var res Result
	var errs []error
	for _, id := range call.EndpointIDs {
		var o Outcome
		var err error
		switch {
		case foreign:
			o = skip(fmt.Sprintf("the event is from %s and this function guards %s", call.Region, r.region))
			o.EndpointID = id
		case run.late():
			o, err = r.notChecked(origin, id, call.Account), ErrDeadlineNear
		default:
			o, err = r.checkByID(ctx, id, call.Account, origin, run)
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
func (r *Remediator) notChecked(origin Origin, id, account string) Outcome {
	o := origin.outcome()
	o.EndpointID, o.Account, o.Region = id, account, r.region
	o.Reasons = []string{"the invocation stopped before this endpoint, to end before its deadline"}
	o.Error = errNotChecked
	return o
}

// origin labels the outcomes of a call with who made it.
func (r *Remediator) origin(call cloudtrail.Call) Origin {
	c := call.Caller
	own := r.cfg.SelfRoleARN != "" && (c.SessionIssuerARN == r.cfg.SelfRoleARN || c.ARN == r.cfg.SelfRoleARN)
	return Origin{
		EventID:   call.EventID,
		EventName: call.EventName,
		Caller:    cmp.Or(c.ARN, c.SessionIssuerARN, c.InvokedBy, c.PrincipalID),
		OwnCall:   own,
	}
}

// checkByID describes one endpoint, the one AWS read per endpoint per event,
// and checks it. account is the event's, for an endpoint that does not name
// its owner.
func (r *Remediator) checkByID(ctx context.Context, id, account string, origin Origin, run Run) (Outcome, error) {
	out, err := r.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil && !isNotFound(err) {
		err = awsError("describe vpc endpoint "+id, "ec2:DescribeVpcEndpoints", err)
		o := origin.outcome()
		o.EndpointID, o.Account, o.Region = id, account, r.region
		o.Reasons = []string{"could not read the endpoint's current state"}
		o.Error = err.Error()
		return o, err
	}
	if err == nil {
		for _, e := range out.VpcEndpoints {
			if aws.ToString(e.VpcEndpointId) == id {
				if e.OwnerId == nil {
					e.OwnerId = aws.String(account)
				}
				return r.check(ctx, e, origin, run)
			}
		}
	}
	o := origin.outcome()
	o.EndpointID, o.Account, o.Region = id, account, r.region
	o.Verdict = NotFound
	o.Reasons = []string{"the endpoint does not exist (any more)"}
	return o, nil
}

// check decides about an endpoint whose state was just described, and writes
// the template if it must, when its turn comes (MaxWritesPerSecond) and unless
// the run's cutoff comes first. It makes at most one AWS call, the write.
func (r *Remediator) check(ctx context.Context, e types.VpcEndpoint, origin Origin, run Run) (Outcome, error) {
	d := r.decide(e, origin)
	if d.tpl == nil {
		return d.outcome, d.err
	}
	if !r.writes.wait(ctx, run) {
		return d.notWritten()
	}
	return r.write(ctx, d)
}

// decision is what an endpoint needs: tpl is set when the template must be
// written.
type decision struct {
	outcome Outcome
	tpl     *template
	err     error
}

// notWritten is the outcome of a write the cutoff kept from starting.
func (d decision) notWritten() (Outcome, error) {
	d.outcome.Error = errNotRewritten
	return d.outcome, fmt.Errorf("vpc endpoint %s: %w", d.outcome.EndpointID, ErrDeadlineNear)
}

// decide checks an endpoint's policy; it makes no AWS call.
func (r *Remediator) decide(e types.VpcEndpoint, origin Origin) decision {
	o := origin.outcome()
	o.EndpointID = aws.ToString(e.VpcEndpointId)
	o.ServiceName = aws.ToString(e.ServiceName)
	o.Account = aws.ToString(e.OwnerId)
	o.Region = r.region
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
	name, region, ok := policytemplates.TemplateFor(o.ServiceName, r.cfg.Templates)
	if !ok {
		o.Reasons = []string{fmt.Sprintf("no template guards %s", quoteOrNone(o.ServiceName))}
		return decision{outcome: o}
	}
	o.Region = region
	if tag, ok := r.exemptTag(e.Tags); ok {
		o.Verdict = Exempt
		o.Reasons = []string{fmt.Sprintf("tagged %s", tag)}
		return decision{outcome: o}
	}
	tpl, err := r.templates.get(name, region, o.Account)
	if err != nil {
		o.Reasons = []string{"could not render the template"}
		o.Error = err.Error()
		return decision{outcome: o, err: fmt.Errorf("vpc endpoint %s: %w", o.EndpointID, err)}
	}

	switch {
	case current == "":
		o.Verdict = NonCompliant
		o.Reasons = []string{"the endpoint has no policy document, which allows everything"}
	case parseErr != nil:
		o.Verdict = NonCompliant
		o.Reasons = []string{fmt.Sprintf("the current policy cannot be read: %v", parseErr)}
	default:
		v := policy.Check(doc, tpl.doc, r.cfg.Mode)
		o.Notes = v.Notes
		if v.Compliant {
			o.Verdict = Compliant
			return decision{outcome: o}
		}
		o.Verdict = NonCompliant
		o.Reasons = v.Reasons
	}

	if r.cfg.DryRun {
		o.Action = WouldRewrite
		o.PolicyAfter, o.PolicyAfterText = tpl.hash, tpl.text
		return decision{outcome: o}
	}
	return decision{outcome: o, tpl: tpl}
}

// write puts the template on the endpoint: the one AWS call of a decision.
func (r *Remediator) write(ctx context.Context, d decision) (Outcome, error) {
	o := d.outcome
	_, err := r.ec2.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{
		VpcEndpointId:  aws.String(o.EndpointID),
		PolicyDocument: aws.String(d.tpl.text),
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
	o.PolicyAfter, o.PolicyAfterText = d.tpl.hash, d.tpl.text
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
