package remediate

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// Verdict is what vpce-guard concluded about one endpoint.
type Verdict string

// The verdicts.
const (
	Compliant    Verdict = "compliant"    // the policy grants nothing beyond the template
	NonCompliant Verdict = "noncompliant" // it grants more, or cannot be read
	Exempt       Verdict = "exempt"       // the endpoint carries the exemption tag
	Skipped      Verdict = "skipped"      // nothing to check: see the reasons
	NotFound     Verdict = "notfound"     // the endpoint no longer exists
)

// Action is what vpce-guard did about it.
type Action string

// The actions.
const (
	None         Action = "none"
	Rewritten    Action = "rewritten"    // the template, or the policy within its bounds, was written
	WouldRewrite Action = "wouldRewrite" // dry run: it would have been written
)

// Outcome is the result for one endpoint, or for a call that needed no endpoint
// at all (then EndpointID is empty and Verdict is Skipped).
type Outcome struct {
	EndpointID  string   `json:"endpointId"`
	ServiceName string   `json:"serviceName"`
	Account     string   `json:"account"`
	Region      string   `json:"region"`
	Verdict     Verdict  `json:"verdict"`
	Action      Action   `json:"action"`
	Reasons     []string `json:"reasons"` // never null in JSON: an empty list when there is nothing to say
	// Proof says how a noncompliant verdict is known: policy.ProofWitness
	// when Witnesses hold requests the policy allows and the template
	// denies, policy.ProofUnproven when the check found none it could show.
	Proof     policy.Proof     `json:"proof,omitempty"`
	Witnesses []policy.Witness `json:"witnesses,omitempty"`
	// Rewrite is what a rewritten (or, in a dry run, would-be rewritten)
	// policy is: config.RewriteTemplate or config.RewriteNarrow;
	// RewriteFallback says why a narrow rewrite writes the template.
	Rewrite         string `json:"rewrite,omitempty"`
	RewriteFallback string `json:"rewriteFallback,omitempty"`
	// Widens lists, for a rewrite, what the written policy allows that the
	// old one did not (the reverse check); empty for a narrow rewrite. Set
	// (to an empty list at least) on every rewritten and wouldRewrite outcome.
	Widens *[]Widening `json:"widens,omitempty"`
	// Notes are what the check could not read exactly (an unknown condition
	// operator) and how it read it, whatever the verdict.
	Notes []string `json:"notes,omitempty"`

	EventID   string `json:"eventId"`
	EventName string `json:"eventName"`
	Caller    string `json:"caller"`
	// OwnCall marks calls made by vpce-guard's own role (config SelfRoleARN).
	OwnCall bool `json:"ownCall,omitempty"`

	// PolicyBefore and PolicyAfter are "sha256:" and the hex SHA-256 of the
	// normalized policy (the raw text when it cannot be parsed), before this run
	// and after it (for WouldRewrite, what it would be). Empty when unknown.
	PolicyBefore string `json:"policyBefore,omitempty"`
	PolicyAfter  string `json:"policyAfter,omitempty"`

	// Owner is what manages a non-compliant endpoint, when its tags or the
	// call say so: the policy must be fixed there, or it comes back.
	Owner *owner.Owner `json:"owner,omitempty"`
	// RewrittenBefore is when vpce-guard last rewrote a non-compliant
	// endpoint's policy, from the endpoint's tag config.RewrittenTagKey:
	// someone put a broad policy back since.
	RewrittenBefore string `json:"rewrittenBefore,omitempty"`
	// RecordError is set when a rewrite succeeded but could not be recorded
	// in that tag, so that the next rewrite will not count as a second one.
	RecordError string `json:"recordError,omitempty"`

	// Error is set when an AWS call or the template failed for this endpoint.
	Error string `json:"error,omitempty"`

	// The policy texts, for debug logs only: they can be 20 KB each.
	PolicyBeforeText string `json:"-"`
	PolicyAfterText  string `json:"-"`
}

// Origin is what asked for a check; it labels every outcome.
type Origin struct {
	EventID   string
	EventName string
	Caller    string
	OwnCall   bool
	// Who is the call's caller, which can tell the endpoint's owner; nil
	// for a sweep.
	Who *cloudtrail.Caller
}

func (o Origin) outcome() Outcome {
	return Outcome{
		Verdict:   Skipped,
		Action:    None,
		Reasons:   []string{},
		EventID:   o.EventID,
		EventName: o.EventName,
		Caller:    o.Caller,
		OwnCall:   o.OwnCall,
	}
}

func hashPolicy(normalized []byte) string {
	sum := sha256.Sum256(normalized)
	return "sha256:" + hex.EncodeToString(sum[:])
}
