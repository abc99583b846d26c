// Package policy reads IAM policy documents as AWS accepts them for VPC
// endpoints, evaluates requests against them, and checks that a policy grants
// nothing beyond a template.
//
// Parse once, then Check or Evaluate as often as needed. Statements are
// numbered from 1 in every message, in the order they appear.
//
// # What Check promises
//
// Check(policy, template, Subset, carries...) calls the policy compliant
// when every request it lets through the endpoint, the template lets
// through too. It is sound: whichever way AWS reads what its documentation leaves
// open, a compliant policy grants nothing more. On documents without
// conditions or policy variables it is complete too: a non-compliant
// verdict means some request escapes under some reading, and when one
// that AWS can be asked escapes as AWS documents IAM (and the work stays
// within its budget) the verdict holds it as a witness, a request the
// policy allows and the template denies, replayed by Evaluate before it is
// given. Elsewhere a non-compliant verdict may be only conservative, and
// says so (Proof "unproven").
//
// # The four readings
//
// Where a pattern or principal may be read more than one way (a '*' inside
// an ARN part, a '?', a policy variable, a root ARN, a missing Principal),
// the side a request may escape from is read as wide as it may be and the
// side that must hold it back as narrow:
//
//   - the policy's Allows wide (they may let more through),
//   - the policy's Denies narrow (they may take less back),
//   - the template's Allows narrow (they may take in less),
//   - the template's Denies wide (they may refuse more).
//
// The quick pass (newChecker, checker.run in fast.go) compiles each
// statement both ways once (compileStatement with broad or narrow; a
// NotResource list the other way round) and covers each (action, resource)
// piece of a policy Allow by one template Allow, and each template Deny
// that reaches into it by one policy Deny (allowSuspects, denySuspects). A
// piece covered under these one-sided readings is covered under every
// reading, so the quick pass only ever says "covered" soundly; what it
// cannot cover is a suspect, not yet a reason.
//
// # The exact part and its obligations
//
// Each suspect is decided exactly (confirm, exact.decide) under every
// reading the two documents are open to (readingsOf: the documented one
// first, then each combination of departures some statement invites), both
// documents read the same way, with variables still read wide on the
// escaping side and narrow on the covering side (exact.region). A statement
// is a region: callers x actions x resources x each condition. What escapes
// is the policy Allow minus the template's Allows and the policy's Denies,
// or the Allow within a template Deny minus the policy's Denies; split cuts
// one covering region away at a time and search looks for a request left.
//
// For a compliant verdict to be sound:
//
//   - each cut is exact or errs towards escaping: callers are bit sets over
//     representatives of every class the documents' Principal elements tell
//     apart (newCallers), known actions bit sets over the table, unknown
//     actions the complement of its names, strings answered by the finder's
//     automata (finder.find);
//   - a condition of a covering region counts as met only when the
//     escaping region's clauses imply it (impliedBy, conditionImplies: the
//     same condition, a narrower StringLike, IP range, ForAllValues set,
//     numeric or date bound, Bool in any case, a Null they settle), and a
//     part is dropped only on a contradiction satisfiable recognises;
//   - a condition read two ways (an unknown operator, a key beyond ASCII,
//     a value with a policy variable) is left out of a policy Allow, takes
//     nothing back in a policy Deny (denyApplies, split), and in a template
//     Allow is met only by the very same condition in the quick pass, only
//     by a copy of the whole statement in the exact part (checker.copied);
//   - work that runs out counts as an escape, never as cover (budget).
//
// TestCheckSoundness holds compliant verdicts to Evaluate over generated
// policies and requests, TestOracle (soundness) to iam-simulate,
// FuzzCheckBruteForce to every request of a small domain under both readings
// of a '*', TestCheckSoundnessWitnesses, TestCheckAdversarialClasses and
// TestReview to known counterexamples, TestPatternAlgorithmsAgainstBruteForce
// the pattern algorithms.
//
// For a non-compliant verdict on condition-free documents to be complete:
// with no conditions or variables, every dimension is decided exactly, so a
// suspect that escapes under the documented reading is a box with a request
// in it; point makes it concrete (a caller, a known or unknown action, a
// resource the finder finds, named as AWS names it where the box holds
// such a name, "*" for an action without resource types, an empty context)
// and exact.confirmed replays it in Evaluate before it becomes a Witness.
// What escapes only as requests AWS is never asked (such an action on a
// resource other than "*", a name AWS never gives) still counts, which is
// sound, but stands without a witness. obligations.checkNonCompliant (in
// TestCheckSoundness) fails on a verdict
// on such documents, read only the documented way and within budget,
// without a witness, and holds every witness to Evaluate and Possible; the
// corpus tests (TestCorpusStricterAccepted, TestCorpusWitnesses, in tests/)
// count the stricter policies wrongly rejected, which must be none, and
// hold every corpus witness to iam-simulate too.
//
// # Resource types and carried services, in the sound direction only
//
// Two facts of AWS narrow what may escape, never what covers. A known
// action (internal/resourcetypes, generated from a pinned copy of the
// Service Authorization Reference, TestTableIsGenerated) is authorized only
// on its resource types, so search tries each class of actions on its ARN
// formats alone (knownActions, exact.search); an action with no resource
// type keeps every resource, "*" included, an action that requires none of
// its types keeps "*" beside them (a request may name none), and an action
// the table does not know keeps every resource too. An endpoint evaluates only the actions of
// the services it carries (a template's {{carries}}, TestCarries), so the
// escaping box holds only those (exact.boxOf, carriedList); a policy Allow
// of other services lets nothing through and gets a note. The covering
// regions are read as written: knowledge never widens a template Allow or
// a policy Deny.
//
// # Bounded work
//
// The quick pass costs the statements' actions plus resources for each
// template Allow, not their product, and its comparisons of conditions
// spend from a budget of workBudget units (checker.work, the product of
// the patterns' lengths). The exact part has a budget of its own, charged
// per split, per character the finder tries and per value a witness's
// context tries. Check's messages are capped (MaxReasons, MaxNotes,
// MaxMessageLength). What a budget leaves undecided counts as escaping: a
// policy that exhausts the exact part's is non-compliant, unproven, with a
// note (TestCheckWorkIsBounded, TestHostileVerdictsAreBrief, TestReview,
// BenchmarkCheckHostile).
//
// # Where Check is still conservative
//
// It calls a policy non-compliant without a witness (Proof "unproven") when
// the escape depends on a condition it cannot decide (an implication or a
// contradiction it does not recognise, a context it cannot build, an
// operator it does not know, a policy variable in a value), on a policy
// variable in a resource, on a reading AWS documents otherwise (with a note
// naming the reading), on requests AWS is never asked, or on work beyond
// its budget; and, in Exact mode, for a difference from the template that
// grants nothing more. The fix for such a verdict, a rewrite to the
// template, is always safe.
package policy
