package policy

import (
	"fmt"
)

// Mode chooses how Check compares a policy with a template.
type Mode string

const (
	// Subset: the policy may allow anything the template allows, and no more.
	Subset Mode = "subset"
	// Exact: the policy must be the template, up to formatting, order, case of
	// actions, duplicates and Sids.
	Exact Mode = "exact"
)

// ParseMode reads "subset" or "exact".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Subset, Exact:
		return Mode(s), nil
	}
	return "", fmt.Errorf("check mode %q: use %q or %q", s, Subset, Exact)
}

// Verdict is the result of a check. A non-compliant verdict has at least
// one reason, and a proof.
type Verdict struct {
	Compliant bool
	// Proof says how a non-compliant verdict is known; empty when compliant.
	Proof Proof
	// Reasons say which statement lets what through, and why the template
	// does not.
	Reasons []string
	// Witnesses are requests that prove some of the reasons: the policy
	// allows each, the template denies it (at most MaxWitnesses).
	Witnesses []Witness
	// Notes say what the check could not read exactly and how it read it
	// instead, whatever the verdict: condition operators it does not know,
	// statements of services the endpoint never carries.
	Notes []string
}

// Proof is how a non-compliant verdict is known.
type Proof string

// The proofs.
const (
	// ProofWitness: Witnesses hold at least one request that the policy
	// allows and the template denies, as Evaluate (and AWS's documentation)
	// reads them.
	ProofWitness Proof = "witness"
	// ProofUnproven: the check found no such request, and cannot rule one
	// out (a condition it cannot decide, a reading AWS documents otherwise,
	// its budget of work spent, or, in Exact mode, a policy that differs
	// from the template without granting more).
	ProofUnproven Proof = "unproven"
)

// MaxWitnesses is the most witnesses a verdict holds.
const MaxWitnesses = 3

// Witness is a request the policy allows and the template denies: every
// part of it given, so that it can be replayed (vpce-guard simulate) and
// checked by anyone.
type Witness struct {
	Principal string              `json:"principal"` // an ARN, an account ID, a service name, or "" for an anonymous caller
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Context   map[string][]string `json:"context"` // the condition keys the request must carry; {} for none
	// Reason is the reason it proves.
	Reason string `json:"-"`
}

// Request is the witness as a request to evaluate.
func (w Witness) Request() Request {
	return Request{Principal: w.Principal, Action: w.Action, Resource: w.Resource, Context: w.Context}
}

// Check decides whether policy grants nothing beyond template. carries
// names the service prefixes of the actions the endpoint evaluates ("logs"
// for a CloudWatch Logs endpoint): a statement of other services' actions
// lets nothing through it, and gets a note; none means every action counts.
//
// In Subset mode the answer is sound: Compliant is true only if every
// request the policy allows is allowed by the template, whichever way AWS
// reads what its documentation leaves open. For statements without
// conditions it is complete too: a policy is non-compliant only when some
// request escapes, and Witnesses hold one when it escapes as AWS documents
// IAM. doc.go has the argument.
//
// What it says is bounded whatever the policy: at most MaxReasons reasons
// and MaxNotes notes, each at most MaxMessageLength characters, then a line
// "and N more"; and so is the work it does.
func Check(policy, template *Document, mode Mode, carries ...string) Verdict {
	reasons, notes := newMessages(MaxReasons), newMessages(MaxNotes)
	readingNotes(policy, template, notes)
	c := newChecker(policy, template, carries, newMessages(MaxReasons), notes)
	if mode == Exact {
		exactDifferences(policy, template, reasons)
		if len(reasons.list) > 0 {
			c.run() // for witnesses: the reasons are the differences
		}
	} else {
		c.reasons = reasons
		c.run()
	}
	v := Verdict{Compliant: len(reasons.list) == 0, Reasons: reasons.result(), Notes: notes.result()}
	if !v.Compliant {
		v.Proof, v.Witnesses = ProofUnproven, c.witnesses
		if len(c.witnesses) > 0 {
			v.Proof = ProofWitness
		}
	}
	return v
}

// readingNotes names each condition this package cannot read one way: an
// operator it does not know, a value with a policy variable, a key beyond
// ASCII. In the policy's Allows such a condition can only narrow, so it is
// left out; in its Denies it takes nothing back; a template condition is
// met only by the very same condition.
func readingNotes(policy, template *Document, notes *messages) {
	for _, d := range []struct {
		whose string
		doc   *Document
	}{{"the policy's", policy}, {"the template's", template}} {
		for i := range d.doc.statements {
			st := &d.doc.statements[i]
			for _, c := range st.Conditions {
				if c.readsOneWay() {
					continue
				}
				switch {
				case !c.Known():
					notes.add(fmt.Sprintf("%s %s: condition operator %q is unknown; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Operator))
				case c.hasVariable():
					notes.add(fmt.Sprintf("%s %s: condition %s on %q has a policy variable (${...}), which AWS replaces with a value of the request; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Operator, c.Key))
				default:
					notes.add(fmt.Sprintf("%s %s: condition key %q has characters beyond ASCII, which case-insensitive readers may fold differently; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Key))
				}
			}
		}
	}
}
