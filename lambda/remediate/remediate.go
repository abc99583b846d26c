package remediate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

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
}

// New returns a Remediator for the endpoints client reaches in region. region
// may be empty when unknown; it then only labels fewer outcomes.
func New(client EC2, region string, cfg config.Config) *Remediator {
	return &Remediator{
		ec2:       client,
		region:    region,
		cfg:       cfg,
		templates: &templates{patterns: cfg.LogGroupPatterns},
	}
}

// HandleCall checks every endpoint call names, or every endpoint of the region
// for a sweep. A call with a SkipReason gives one Skipped outcome and makes no
// AWS call. The error joins the errors of the endpoints that failed; the
// outcomes of all the others are complete.
func (r *Remediator) HandleCall(ctx context.Context, call cloudtrail.Call) ([]Outcome, error) {
	origin := r.origin(call)
	skip := func(reason string) Outcome {
		o := origin.outcome()
		o.Account, o.Region = call.Account, call.Region
		o.Reasons = []string{reason}
		return o
	}
	switch {
	case call.SkipReason != "":
		return []Outcome{skip(call.SkipReason)}, nil
	case call.Sweep:
		origin.EventName = cmp.Or(origin.EventName, SweepEventName)
		return r.Sweep(ctx, origin)
	case len(call.EndpointIDs) == 0:
		return []Outcome{skip("no endpoint ID in the call")}, nil
	}

	// The client reaches another region, where these IDs do not exist: say so
	// rather than report them as not found.
	foreign := call.Region != "" && r.region != "" && call.Region != r.region
	outcomes := make([]Outcome, 0, len(call.EndpointIDs))
	var errs []error
	for _, id := range call.EndpointIDs {
		if foreign {
			o := skip(fmt.Sprintf("the event is from %s and this function guards %s", call.Region, r.region))
			o.EndpointID = id
			outcomes = append(outcomes, o)
			continue
		}
		o, err := r.checkByID(ctx, id, call.Account, origin)
		outcomes = append(outcomes, o)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return outcomes, errors.Join(errs...)
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
func (r *Remediator) checkByID(ctx context.Context, id, account string, origin Origin) (Outcome, error) {
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
				return r.check(ctx, e, origin)
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
// the template if it must. It makes at most one AWS call, the write.
func (r *Remediator) check(ctx context.Context, e types.VpcEndpoint, origin Origin) (Outcome, error) {
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
		return o, nil
	}
	name, region, ok := policytemplates.TemplateFor(o.ServiceName, r.cfg.Templates)
	if !ok {
		o.Reasons = []string{fmt.Sprintf("no template guards %s", quoteOrNone(o.ServiceName))}
		return o, nil
	}
	o.Region = region
	if tag, ok := r.exemptTag(e.Tags); ok {
		o.Verdict = Exempt
		o.Reasons = []string{fmt.Sprintf("tagged %s", tag)}
		return o, nil
	}
	tpl, err := r.templates.get(name, region, o.Account)
	if err != nil {
		o.Reasons = []string{"could not render the template"}
		o.Error = err.Error()
		return o, fmt.Errorf("vpc endpoint %s: %w", o.EndpointID, err)
	}

	switch {
	case current == "":
		o.Verdict = NonCompliant
		o.Reasons = []string{"the endpoint has no policy document, which allows everything"}
	case parseErr != nil:
		o.Verdict = NonCompliant
		// A parse error may quote a value of thousands of characters.
		o.Reasons = policy.Brief([]string{fmt.Sprintf("the current policy cannot be read: %v", parseErr)}, 1)
	default:
		v := policy.Check(doc, tpl.doc, r.cfg.Mode)
		o.Notes = v.Notes
		if v.Compliant {
			o.Verdict = Compliant
			return o, nil
		}
		o.Verdict = NonCompliant
		o.Reasons = v.Reasons
	}

	if r.cfg.DryRun {
		o.Action = WouldRewrite
		o.PolicyAfter, o.PolicyAfterText = tpl.hash, tpl.text
		return o, nil
	}
	_, err = r.ec2.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{
		VpcEndpointId:  e.VpcEndpointId,
		PolicyDocument: aws.String(tpl.text),
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
	o.PolicyAfter, o.PolicyAfterText = tpl.hash, tpl.text
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
