// The oracle of the policy engine's differential test: it asks
// @cloud-copilot/iam-simulate, an IAM evaluator written by others, whether a
// VPC endpoint policy allows a request. One JSON line in per question:
//   {"policy": {...}, "principal": "arn:...", "action": "logs:PutLogEvents",
//    "resource": "arn:...", "context": {"aws:SourceVpc": ["vpc-1"]}}
// one JSON line out per answer, in order:
//   {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "error",
//    "error": "...", "ignoredContextKeys": [...]}
// Usage: node oracle.cjs NODE_MODULES_DIR
'use strict'
const path = require('node:path')
const readline = require('node:readline')
const { createRequire } = require('node:module')

const load = createRequire(path.resolve(process.argv[2], 'oracle.cjs'))
const { runSimulation } = load('@cloud-copilot/iam-simulate')

const allowEverything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }

function accountOf(arn) {
  const parts = arn.split(':')
  return parts.length >= 6 && /^[0-9]{12}$/.test(parts[4]) ? parts[4] : '111122223333'
}

function simulation(q, resourceAccount, extra) {
  return {
    request: {
      principal: q.principal,
      action: q.action,
      resource: { resource: q.resource, accountId: resourceAccount },
      contextVariables: q.context || {}
    },
    identityPolicies: [{ name: 'identity', policy: allowEverything }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...extra
  }
}

// iam-simulate reads an endpoint policy as an identity policy, leaving its
// Principal out (its validator wants "*" there). So each statement's
// Principal is decided on its own, the way iam-simulate reads a resource
// policy's, and the endpoint policy it evaluates keeps the statements that
// name the caller, with Principal "*". The probe's resource is in another
// account than the caller's, so that only the resource policy can let the
// caller in (the identity policy allows everything).
async function names(q, principal) {
  const probe = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: '*', Resource: '*' }] }
  const other = accountOf(q.principal) === '999999999999' ? '888888888888' : '999999999999'
  const result = await runSimulation(simulation(q, other, { resourcePolicy: probe }), {})
  if (result.resultType === 'error') {
    throw new Error('principal ' + JSON.stringify(principal) + ': ' + JSON.stringify(result.errors))
  }
  return result.overallResult === 'Allowed'
}

async function endpointPolicyFor(q) {
  const statements = [].concat(q.policy.Statement)
  const kept = []
  for (const st of statements) {
    const s = { ...st }
    let applies = true
    if ('Principal' in s) {
      applies = await names(q, s.Principal)
    } else if ('NotPrincipal' in s) {
      applies = !(await names(q, s.NotPrincipal))
    }
    delete s.NotPrincipal
    s.Principal = '*'
    if (applies) kept.push(s)
  }
  return { ...q.policy, Statement: kept }
}

async function decide(q) {
  const policy = await endpointPolicyFor(q)
  if (policy.Statement.length === 0) {
    return { decision: 'ImplicitlyDenied' }
  }
  // The caller's own account: the question is the endpoint policy, not
  // whether a resource policy lets another account in.
  const result = await runSimulation(simulation(q, accountOf(q.principal), { vpcEndpointPolicies: [{ name: 'endpoint', policy }] }), {})
  if (result.resultType === 'error') {
    return { decision: 'error', error: JSON.stringify(result.errors) }
  }
  return { decision: result.overallResult, ignoredContextKeys: result.result?.ignoredContextKeys || [] }
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of lines) {
    let answer
    try {
      answer = await decide(JSON.parse(line))
    } catch (err) {
      answer = { decision: 'error', error: String(err && err.message ? err.message : err) }
    }
    process.stdout.write(JSON.stringify(answer) + '\n')
  }
}

main()
