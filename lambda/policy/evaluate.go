package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnsupportedOperator is returned by Evaluate when a statement that could
// decide the request has a condition operator this package cannot evaluate.
var ErrUnsupportedOperator = errors.New("unsupported condition operator")

// Request is what a call through the endpoint asks for.
type Request struct {
	// Principal is the caller: an account ID, an IAM ARN, an STS assumed-role
	// ARN or a service principal name; empty for an anonymous caller.
	Principal string
	Action    string // e.g. logs:PutLogEvents
	Resource  string // an ARN
	// Context holds condition keys (any case) and their values.
	Context map[string][]string
}

// Decision is the outcome of evaluating a request.
type Decision struct {
	Allowed bool
	// Statement decided it, by its number (from 1) and Sid: the first
	// matching Deny, else the first matching Allow; 0 when nothing matched
	// (an implicit deny).
	Statement int
	Sid       string
}

func (d Decision) String() string {
	st := Statement{Number: d.Statement, Sid: d.Sid}
	switch {
	case d.Allowed:
		return "Allow by " + st.label()
	case d.Statement != 0:
		return "Deny by " + st.label()
	default:
		return "Deny (implicit: no statement allows it)"
	}
}

// Evaluate decides a request as IAM does for a resource policy: an explicit
// Deny wins, then an Allow, and otherwise the request is implicitly denied.
func (d *Document) Evaluate(r Request) (Decision, error) {
	return d.evaluate(r, request)
}

// evaluate is Evaluate with resources read as how says, for tests that ask
// what AWS would decide under each reading its documentation leaves open.
func (d *Document) evaluate(r Request, how reading) (Decision, error) {
	ctx := foldContext(r.Context)
	compiled := d.compile().requests
	var allow *Statement
	for i := range d.statements {
		st := &d.statements[i]
		applies, err := st.applies(r, d.version, ctx, how, compiled[i])
		if err != nil {
			return Decision{}, err
		}
		if !applies {
			continue
		}
		if st.Effect == Deny {
			return Decision{Allowed: false, Statement: st.Number, Sid: st.Sid}, nil
		}
		if allow == nil {
			allow = st
		}
	}
	if allow == nil {
		return Decision{}, nil
	}
	return Decision{Allowed: true, Statement: allow.Number, Sid: allow.Sid}, nil
}

// foldContext is a request context under its keys' one spelling. Keys
// ignore case; a key given in several spellings gets all their values, in
// a fixed order so that the answer never depends on map order.
func foldContext(context map[string][]string) map[string][]string {
	ctx := make(map[string][]string, len(context))
	keys := make([]string, 0, len(context))
	for k := range context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		folded := foldKey(k)
		ctx[folded] = append(ctx[folded], context[k]...)
	}
	return ctx
}

// requestPatterns are a statement's patterns as Evaluate reads them, made
// once: a resource with a policy variable (nil here) is made per request.
type requestPatterns struct {
	actions, resources []pattern
	callers            *callerIndex
}

func compileRequestPatterns(st *Statement, version string, actions []pattern) requestPatterns {
	rp := requestPatterns{actions: actions, resources: make([]pattern, len(st.Resource.Values)), callers: newCallerIndex(st.Principal, false)}
	for i, res := range st.Resource.Values {
		if version == Version2012 && strings.Contains(res, "${") {
			continue
		}
		rp.resources[i], _ = compileResource(res, version, request, nil)
	}
	return rp
}

func (st *Statement) applies(r Request, version string, ctx map[string][]string, how reading, compiled requestPatterns) (bool, error) {
	for _, part := range []coverPart{principalPart, actionPart, resourcePart} {
		if !st.admitsUnder(part, r, version, ctx, how, compiled) {
			return false, nil
		}
	}
	for _, c := range st.Conditions {
		if !c.Known() {
			return false, fmt.Errorf("%s: %q: %w", st.label(), c.Operator, ErrUnsupportedOperator)
		}
		if !c.holdsIn(ctx, version) {
			return false, nil
		}
	}
	return true, nil
}

// admitsUnder reports whether the statement takes in one part of the
// request, its resource read as how says: its caller, action, resource, or
// context (every condition holds; one with an unknown operator does not).
func (st *Statement) admitsUnder(part coverPart, r Request, version string, ctx map[string][]string, how reading, compiled requestPatterns) bool {
	switch part {
	case principalPart:
		return compiled.callers.applies(readAWSEntry(r.Principal), false)
	case actionPart:
		action := asciiLowerString(r.Action)
		in := false
		for _, p := range compiled.actions {
			if p.match(action) {
				in = true
				break
			}
		}
		return in != st.Action.Not
	case resourcePart:
		in := false
		for i, res := range st.Resource.Values {
			p, ok := compiled.resources[i], true
			if p == nil || how != request {
				p, ok = compileResource(res, version, how, ctx)
			}
			// A pattern whose variable has no value in the request matches nothing.
			if ok && p.match(r.Resource) {
				in = true
				break
			}
		}
		return in != st.Resource.Not
	}
	for _, c := range st.Conditions {
		if !c.Known() || !c.holdsIn(ctx, version) {
			return false
		}
	}
	return true
}

// matches reports whether the caller is one the element names (or, for
// NotPrincipal, one it does not name). A statement without one names everyone.
func (p Principal) matches(caller string) bool {
	if !p.Present {
		return true
	}
	named := p.Any || p.names(caller)
	return named != p.Not
}

func (p Principal) names(caller string) bool {
	if caller == "" {
		return false
	}
	for _, entry := range p.AWS {
		if awsPrincipalCovers(readAWSEntry(entry), caller) {
			return true
		}
	}
	for _, list := range [][]string{p.Service, p.Federated, p.CanonicalUser} {
		for _, v := range list {
			if v == caller {
				return true
			}
		}
	}
	return false
}
