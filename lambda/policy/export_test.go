package policy

// EvaluateWithStarsCrossingColons evaluates r reading every '*' of a
// resource as matching past colons, as iam-simulate does, so that the
// differential test can name that difference.
func EvaluateWithStarsCrossingColons(d *Document, r Request) (Decision, error) {
	return d.evaluate(r, readingOfAWS{starsCrossColons: true})
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
