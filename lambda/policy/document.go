package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// MaxPolicyLength is the most characters AWS accepts in a VPC endpoint policy.
const MaxPolicyLength = 20480

// The policy language versions AWS accepts. Without a Version, AWS reads a
// policy as 2008-10-17, where ${...} is plain text rather than a variable.
const (
	Version2008 = "2008-10-17"
	Version2012 = "2012-10-17"
)

// Effect is Allow or Deny.
type Effect string

// The two effects a statement can have.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Document is a parsed IAM policy. It cannot change once made: Parse
// compiles its patterns once, for every Check and Evaluate that follows,
// and what it hands out are copies.
type Document struct {
	version    string // as written; empty when absent
	id         string
	statements []Statement

	compiled atomic.Pointer[compiledDocument]
}

// NewDocument makes a document of the given statements, as Parse would
// have read them; it copies them, and numbers them from 1 in order.
func NewDocument(version, id string, statements []Statement) *Document {
	d := &Document{version: version, id: id, statements: make([]Statement, len(statements))}
	for i, st := range statements {
		d.statements[i] = st.clone()
		d.statements[i].Number = i + 1
	}
	return d
}

// Version is the policy language version as written; empty when absent.
func (d *Document) Version() string { return d.version }

// ID is the document's Id element.
func (d *Document) ID() string { return d.id }

// Statements returns a copy of the statements, in order.
func (d *Document) Statements() []Statement {
	out := make([]Statement, len(d.statements))
	for i, st := range d.statements {
		out[i] = st.clone()
	}
	return out
}

// clone copies a statement and every list it holds.
func (st Statement) clone() Statement {
	st.Principal.AWS = slices.Clone(st.Principal.AWS)
	st.Principal.Service = slices.Clone(st.Principal.Service)
	st.Principal.Federated = slices.Clone(st.Principal.Federated)
	st.Principal.CanonicalUser = slices.Clone(st.Principal.CanonicalUser)
	st.Action.Values = slices.Clone(st.Action.Values)
	st.Resource.Values = slices.Clone(st.Resource.Values)
	st.Conditions = slices.Clone(st.Conditions)
	for i := range st.Conditions {
		st.Conditions[i].Values = slices.Clone(st.Conditions[i].Values)
	}
	return st
}

// Statement is one entry of a policy's Statement element.
type Statement struct {
	Number     int // position in the document, counted from 1
	Sid        string
	Effect     Effect
	Principal  Principal
	Action     Values // Action, or NotAction when Not is set
	Resource   Values // Resource, or NotResource when Not is set
	Conditions []Condition
}

// Values is the list form of Action/NotAction and Resource/NotResource.
type Values struct {
	Not    bool // NotAction / NotResource
	Values []string
}

// Principal is the Principal or NotPrincipal element.
type Principal struct {
	Present bool // the statement names a Principal or NotPrincipal
	Not     bool // NotPrincipal
	// Any is "*" or {"AWS": "*"}: every principal, of every account.
	Any bool
	// AWS holds account IDs and IAM ARNs; Service, Federated and CanonicalUser the other kinds.
	AWS, Service, Federated, CanonicalUser []string
}

// Condition is one key of one operator of a Condition block.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string
	Values   []string // booleans and numbers in their JSON spelling
}

// label names the statement for people: `statement 2 ("AllowPut")`.
func (s *Statement) label() string {
	if s.Sid != "" {
		return fmt.Sprintf("statement %d (%q)", s.Number, s.Sid)
	}
	return fmt.Sprintf("statement %d", s.Number)
}

// String renders the principal element briefly, for reasons.
func (p Principal) String() string {
	if !p.Present {
		return "no principal"
	}
	var parts []string
	if p.Any {
		parts = append(parts, "*")
	}
	for _, kind := range []struct {
		name string
		list []string
	}{{"AWS", p.AWS}, {"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}} {
		for _, v := range kind.list {
			parts = append(parts, kind.name+":"+v)
		}
	}
	s := strings.Join(parts, ", ")
	if p.Not {
		return "every principal except " + s
	}
	return s
}
