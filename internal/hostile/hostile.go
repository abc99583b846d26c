// Package hostile builds the policies an adversary would write to make a
// check slow or talkative: within the 20,480-character endpoint policy limit,
// each a product of two long lists. The policy engine's benchmarks and the
// hostile sweep measure them.
package hostile

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// StrictTemplate is the logs-strict template narrowed to a few log-group
// patterns: several resources and Denies to compare every piece with.
const StrictTemplate = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":[
"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/*","arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
"arn:aws:logs:eu-west-1:111122223333:log-group:a*","arn:aws:logs:eu-west-1:111122223333:log-group:b*"]},
{"Effect":"Deny","Principal":"*","Action":["logs:PutAccountPolicy","logs:PutDestination","logs:PutSubscriptionFilter"],"Resource":"*"},
{"Effect":"Deny","Principal":"*","Action":["logs:CreateExportTask","logs:PutIntegration"],"Resource":"*"},
{"Effect":"Deny","Principal":"*","Action":"logs:AssociateKmsKey","Resource":"*"}]}`

// fill joins item(0), item(1), ... with sep while they fit in budget characters.
func fill(budget int, sep string, item func(i int) string) string {
	var parts []string
	size := 0
	for i := 0; ; i++ {
		s := item(i)
		n := utf8.RuneCountInString(s) + len(sep)
		if size+n > budget {
			return strings.Join(parts, sep)
		}
		parts = append(parts, s)
		size += n
	}
}

// Names lists the shapes in the order benchmarks report them.
var Names = []string{"actions-x-resources", "allows-x-denies", "principals-x-accounts", "conditions-x-conditions", "talkative"}

// Policies returns the shapes by name, each a full policy document within
// the endpoint policy limit.
func Policies() map[string]string {
	const head, tail = `{"Version":"2012-10-17","Statement":[`, `]}`
	budget := policy.MaxPolicyLength - len(head) - len(tail) - 200
	quoted := func(format string) func(int) string {
		return func(i int) string { return `"` + fmt.Sprintf(format, i) + `"` }
	}
	shapes := map[string]string{}

	// actions × resources: one Allow, half of its resources outside the template.
	actions := fill(budget/2, ",", quoted("logs:Put%04d"))
	resources := fill(budget/2-100, ",", func(i int) string {
		return fmt.Sprintf(`"arn:aws:logs:eu-west-%d:111122223333:log-group:app-%04d"`, 1+i%2, i)
	})
	shapes["actions-x-resources"] = `{"Effect":"Allow","Principal":"*","Action":[` + actions + `],"Resource":[` + resources + `]}`

	// Allows × Denies: Allows inside the template that the strict template's
	// Denies reach, and Denies that almost take them back, all with conditions.
	const cond = `"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1","aws:PrincipalAccount":"111122223333"},"Bool":{"aws:SecureTransport":"true"}}`
	allow := func(i int) string {
		return fmt.Sprintf(`{"Effect":"Allow","Principal":"*","Action":"logs:Put*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:a%d",%s}`, i, cond)
	}
	deny := func(i int) string {
		return fmt.Sprintf(`{"Effect":"Deny","Principal":"*","Action":"logs:Put*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:b%d",%s}`, i, cond)
	}
	shapes["allows-x-denies"] = fill(budget/2, ",", allow) + "," + fill(budget/2, ",", deny)

	// principals × accounts: an Allow and a Deny naming hundreds of
	// principals each, the Deny's all in other partitions or regions.
	allowPrincipals := fill(budget/2-200, ",", quoted("arn:aws:iam::111122223333:role/r%03d"))
	denyPrincipals := fill(budget/2-200, ",", quoted("arn:aws-cn:iam::1111222233%02d:root"))
	shapes["principals-x-accounts"] = `{"Effect":"Allow","Principal":{"AWS":[` + allowPrincipals + `]},"Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"},` +
		`{"Effect":"Deny","Principal":{"AWS":[` + denyPrincipals + `]},"Action":"logs:*","Resource":"*"}`

	// conditions × conditions: an Allow and Denies whose conditions must be
	// compared value by value, the last value of each Deny's list unmatched.
	values := fill(budget/4-150, ",", quoted("vpc-%05d"))
	shapes["conditions-x-conditions"] = `{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:a*",` +
		`"Condition":{"StringEquals":{"aws:SourceVpc":[` + values + `]}}}` + strings.Repeat(`,{"Effect":"Deny","Principal":"*","Action":"logs:*","Resource":"*",`+
		`"Condition":{"StringEquals":{"aws:SourceVpc":[`+values[:len(values)-len(`"vpc-00000"`)-1]+`]}}}`, 3)

	// many statements, each a reason and a note with long texts of the
	// characters JSON writes longest (<, & take six bytes, é two).
	sid := strings.Repeat("<é", 75)
	operator := "StringSoundsLike" + strings.Repeat("&", 150)
	shapes["talkative"] = fill(budget, ",", func(i int) string {
		return fmt.Sprintf(`{"Sid":"%s%d","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"%s":{"k%d":"v"}}}`, sid, i, operator, i)
	})
	for name, statements := range shapes {
		shapes[name] = head + statements + tail
	}
	return shapes
}
