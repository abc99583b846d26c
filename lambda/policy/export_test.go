package policy

// EvaluateUnder evaluates r reading resources under one of the readings AWS's
// documentation leaves open: every '*' crossing colons or not, every '?'
// kept off colons (and characters beyond one UTF-16 unit) or not.
func EvaluateUnder(d *Document, r Request, starsCross, questionsNarrow bool) (Decision, error) {
	return d.evaluate(r, reading{starsCross: starsCross, questionsNarrow: questionsNarrow, variables: fromRequest})
}

// CanonicalOperator spells a condition operator the way IAM names it, case
// aside, or returns it unchanged when no operator has that name: some
// evaluators read operator names without case.
func CanonicalOperator(name string) string {
	qualifier, rest := "", name
	for _, q := range []string{"ForAnyValue:", "ForAllValues:"} {
		if len(rest) >= len(q) && asciiLowerString(rest[:len(q)]) == asciiLowerString(q) {
			qualifier, rest = q, rest[len(q):]
		}
	}
	suffix := ""
	if n := len(rest) - len("IfExists"); n > 0 && asciiLowerString(rest[n:]) == "ifexists" {
		suffix, rest = "IfExists", rest[:n]
	}
	for base := range baseOperators {
		if asciiLowerString(base) == asciiLowerString(rest) {
			return qualifier + base + suffix
		}
	}
	return name
}

// Possible reports whether AWS may ever ask about the request through an
// endpoint that carries carries (none: any endpoint): the check knows that
// an action of the Service Authorization Reference is authorized only on
// its resource types, so a test must not hold it to any other request.
func Possible(r Request, carries ...string) bool {
	return knownActions().possible(r.Action, r.Resource, carries)
}

// OnlyDocumentedReading reports whether the documents read alike under
// every reading the check tries: no '?' or '*' inside a part of a resource
// ARN, no policy variable before its resource part, no root ARN, no
// statement without a Principal.
func OnlyDocumentedReading(docs ...*Document) bool { return len(readingsOf(docs...)) == 1 }
