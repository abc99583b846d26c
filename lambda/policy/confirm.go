package policy

import (
	"fmt"
)

// splitLimit is how many actions of a suspect are decided one by one, so
// that a reason names only those that escape; a longer list is named whole.
const splitLimit = 16

// confirm decides a suspect exactly and, when something escapes, says what
// in a reason, with a witness when Evaluate confirms one.
func (c *checker) confirm(sus suspect) {
	if c.noRoom() {
		return
	}
	x := c.exact()
	e, how := x.decide(sus)
	if !e.escapes {
		c.noteCarried(sus)
		return
	}
	var listed []int
	if len(sus.actions) > 1 && len(sus.actions) <= splitLimit {
		for _, a := range sus.actions {
			one := sus
			one.actions = []int{a}
			if oe, _ := x.decide(one); oe.escapes {
				listed = append(listed, a)
			}
		}
	}
	if len(listed) == 0 {
		listed = sus.actions
	}
	proven := e.request != nil && how == documented && x.confirmed(e.request)
	reason := c.reason(sus, listed)
	c.reasons.add(reason)
	if proven && len(c.witnesses) < MaxWitnesses {
		r := e.request
		c.witnesses = append(c.witnesses, Witness{Principal: r.Principal, Action: r.Action, Resource: r.Resource,
			Context: nonNil(r.Context), Reason: brief(reason)})
	}
	if how != documented && !e.unsure {
		c.notes.add(fmt.Sprintf("the policy's %s lets a request through only if %s, which AWS documents otherwise; the check holds a policy to every such reading",
			sus.s.label(), how.describe()))
	}
}

func nonNil(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

// reason says what of the suspect escapes: the actions listed (indexes
// into the suspect's statement or Deny), and why the template does not take
// them in, in terms of the policy's patterns; the witness, when there is
// one, is the concrete request.
func (c *checker) reason(sus suspect, listed []int) string {
	s := sus.s
	if sus.deny != nil {
		d := sus.deny
		var missing []string
		pieces := d.actions.pieces()
		if listed == nil {
			for _, p := range pieces {
				missing = append(missing, p.String())
			}
		}
		for _, i := range listed {
			missing = append(missing, pieces[i].String())
		}
		where := ""
		if !d.resources.universal() {
			where = " on " + d.resources.String()
		}
		return fmt.Sprintf("%s allows %s%s, which the template denies in %s, and no Deny in the policy takes it back",
			s.label(), joinBrief(missing, listBrief), where, d.label())
	}
	if sus.resource < 0 {
		return fmt.Sprintf("%s allows %s on %s%s, which reaches beyond the template: %s",
			s.label(), s.actions, s.resources, principalNote(s.Principal), c.templateAllowSummary())
	}
	var texts []string
	for _, i := range listed {
		texts = append(texts, s.actions.texts[i])
	}
	why := c.whyOutside(c.patternTest(s, s.actions.single(listed[len(listed)-1]), s.resources.single(sus.resource)))
	return fmt.Sprintf("%s allows %s on %s%s, %s", s.label(), joinBrief(texts, listBrief), s.resources.texts[sus.resource],
		principalNote(s.Principal), why)
}

// noteCarried says, once per statement, when a policy Allow the quick pass
// could not cover names only actions the endpoint never carries.
func (c *checker) noteCarried(sus suspect) {
	x := c.exact()
	if x.carried == nil || sus.deny != nil || c.notedCarried[sus.s.Statement] {
		return
	}
	s := x.model(documented).policyAllows[sus.allow]
	actions := stringSet{}.with(s.actions, !s.actionsNot).with(x.carried, true)
	if x.finder.nonEmpty(actions) {
		return
	}
	if c.notedCarried == nil {
		c.notedCarried = map[*Statement]bool{}
	}
	c.notedCarried[sus.s.Statement] = true
	c.notes.add(fmt.Sprintf("the policy's %s allows %s, none of them an action of %s, all this endpoint carries: it lets nothing through",
		sus.s.label(), sus.s.actions, joinBrief(c.carries, listBrief)))
}

// decide finds a request of the suspect that escapes, under each reading
// in turn, the documented one first.
func (x *exact) decide(sus suspect) (escape, reading) {
	source := sus.s
	if sus.deny != nil {
		source = sus.deny
	}
	var actions *patternList
	if sus.actions != nil {
		key := fmt.Sprintf("%p %v", source.Statement, sus.actions)
		if actions = x.pieces[key]; actions == nil {
			var patterns []pattern
			var texts []string
			for _, i := range sus.actions {
				patterns, texts = append(patterns, source.actions.patterns[i]), append(texts, source.actions.texts[i])
			}
			actions = x.newList(patterns, texts)
			x.pieces[key] = actions
		}
	}
	for _, how := range x.readings {
		m := x.model(how)
		s := m.policyAllows[sus.allow]
		b := x.boxOf(s)
		covers := coversInOrder(m.templateAllows, m.policyDenies)
		if sus.deny != nil {
			b = x.within(b, m.templateDenies[sus.denyAt])
			covers = coversInOrder(m.policyDenies)
		}
		if actions != nil {
			b = x.onlyActions(b, actions, sus.deny == nil)
		}
		if sus.resource >= 0 {
			p := s.byValue[sus.resource]
			if p == nil {
				continue // the value matches nothing read this way
			}
			// The piece stands for the statement's list, of which it is one.
			b.resources = stringSet{in: []*patternList{x.newList([]pattern{p}, []string{s.st.Resource.Values[sus.resource]})}}
		}
		if e := x.search(b, covers); e.escapes {
			return e, how
		}
	}
	return escape{}, documented
}

// coversInOrder lists the regions that cover, those without conditions
// first: each takes a whole part of the box away at once, where one with
// conditions splits it further. The order changes the work, not the answer.
func coversInOrder(lists ...[]*region) []*region {
	var plain, conditional []*region
	for _, l := range lists {
		for _, r := range l {
			if len(r.conditions) == 0 {
				plain = append(plain, r)
			} else {
				conditional = append(conditional, r)
			}
		}
	}
	return append(plain, conditional...)
}
