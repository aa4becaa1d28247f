import { z } from 'zod';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const createSlaCreditInput = z.strictObject({
  /** The preempted GPU job's event (its transaction_id). */
  transaction_id: text(255),
  /** Shown on the invoice line, e.g. "spot capacity reclaimed at 14:02 UTC". */
  reason: text(1000, { trim: true, controls: 'whitespace' }),
  /** Share of the job's charge (net of the negotiated discount) credited; all of it when omitted. */
  percent: text(12)
    .regex(/^\d{1,3}(\.\d{1,7})?$/, { message: 'must be a percentage with at most 7 decimals, e.g. "50"', abort: true })
    .refine((value) => {
      const [whole, fraction = ''] = value.split('.');
      const scaled = BigInt(whole) * 10_000_000n + BigInt(fraction.padEnd(7, '0'));
      return scaled > 0n && scaled <= 1_000_000_000n;
    }, 'must be greater than 0 and at most 100')
    .default('100'),
});
export type CreateSlaCreditInput = z.infer<typeof createSlaCreditInput>;

export const customerPath = z.strictObject({ id: externalId });
