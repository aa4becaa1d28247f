// SLA credits: an operator credits a preempted GPU job. The amount is worked out from the job's rated charge
// (net of the negotiated discount, whoever pays it) and a percentage, and lands as its own line, with the
// reason, on the period-end invoice of the job's period. Once per job; refused once that period is invoiced
// (a credit note reverses a finalized invoice).
import crypto from 'node:crypto';
import { parseScaled } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, precondition } from '../../platform/errors.ts';
import { divideHalfEven, formatMoney, formatPercent, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { requireCustomer } from '../customers/service.ts';
import * as periodsRepo from '../periods/index.ts';
import * as repo from './repo.ts';
import type { CreateSlaCreditInput } from '@tariff/openapi/schemas/sla';

/** Pure: percent (at most 7 decimals) of a charge, rounded half-even to the nano-unit. */
export function slaCreditAmount(charge: bigint, percent: string): bigint {
  const scaled = (parseScaled(percent, 7) as { ok: true; value: bigint }).value;
  return divideHalfEven(charge * scaled, 100n * 10_000_000n);
}

export async function issueSlaCredit(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: CreateSlaCreditInput,
): Promise<ApiSchemas['SlaCredit']> {
  requirePermission(actor, 'credits.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const job = await repo.findRatedJob(scope, input.transaction_id);
    if (!job || job.customerId !== customer.id) {
      throw invalid('event_not_found', `Customer "${externalId}" has no rated event "${input.transaction_id}"`, [
        { field: 'transaction_id', reason: 'no such rated event of this customer' },
      ]);
    }
    if (job.outcome !== 'preempted') {
      throw precondition('event_not_preempted', 'SLA credits are for preempted GPU jobs', [
        { field: 'transaction_id', reason: `the event's outcome is ${job.outcome ?? 'completed'}, not preempted` },
      ]);
    }
    // The row period close and finalization lock: the credit is on the period-end invoice or refused.
    const period = await periodsRepo.lockPeriod(scope, { customerId: customer.id, start: job.periodStart });
    if (!period || period.status !== 'open') {
      throw conflict('period_invoiced', "The job's period is already invoiced; issue a credit note instead", [
        { field: 'transaction_id', reason: `its period ${job.periodStart.toISOString()} is closed` },
      ]);
    }
    const charge = toNano(job.subtotal) - toNano(job.discount);
    const credit: repo.SlaCredit = {
      id: crypto.randomUUID(),
      customerId: customer.id,
      transactionId: input.transaction_id,
      periodStart: job.periodStart,
      percent: input.percent,
      charge: formatMoney(charge),
      amount: formatMoney(slaCreditAmount(charge, input.percent)),
      reason: input.reason,
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
    };
    await repo.insertCredit(scope, credit);
    const result = toApiSlaCredit(credit, externalId);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'sla_credit.created',
      entityType: 'sla_credit',
      entityId: credit.id,
      after: result,
    });
    return result;
  });
}

export async function listSlaCredits(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['SlaCreditList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    return { data: (await repo.listCredits(scope, customer.id)).map((c) => toApiSlaCredit(c, externalId)) };
  });
}

function toApiSlaCredit(c: repo.SlaCredit, customerExternalId: string): ApiSchemas['SlaCredit'] {
  return {
    id: c.id,
    customer_id: customerExternalId,
    transaction_id: c.transactionId,
    period_start: c.periodStart.toISOString(),
    percent: formatPercent(c.percent),
    charge: formatMoney(toNano(c.charge)),
    amount: formatMoney(toNano(c.amount)),
    reason: c.reason,
    created_at: c.createdAt.toISOString(),
    created_by: c.createdBy,
  };
}
