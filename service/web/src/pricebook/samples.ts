// Sample events for the live panel: one per rate card, built from what the card matches and the quantities it
// charges, so the panel rates something under every card without the user writing JSON.
import type { BookVersion, UsageEvent } from './kernel.ts';

export function sampleEventsFor(version: BookVersion, at: string): UsageEvent[] {
  return version.rate_cards.map((card, index) => {
    const properties: UsageEvent['properties'] = {};
    let eventType = 'llm.completion';
    for (const [property, rule] of Object.entries(card.match)) {
      if (typeof rule !== 'string') continue;
      if (property === 'event_type') eventType = rule;
      else properties[property] = rule;
    }
    for (const [name, dimension] of Object.entries(card.dimensions ?? {})) {
      if ('gpu_time' in dimension) {
        properties[dimension.gpu_time.count ?? 'gpu_count'] = 1;
        properties[dimension.gpu_time.duration ?? 'duration_seconds'] = 3600;
      } else if ('formula' in dimension)
        for (const property of Object.keys(dimension.formula)) properties[property] ??= 1000;
      else if ('max' in dimension) for (const property of dimension.max) properties[property] ??= 1000;
      void name;
    }
    for (const charge of card.charges) {
      if (charge.dimension && !(charge.dimension in (card.dimensions ?? {}))) properties[charge.dimension] ??= 100_000;
      if (charge.price.model === 'dynamic') properties[charge.price.amount_property] ??= 1;
    }
    return {
      transaction_id: `sample-${index + 1}`,
      customer_id: 'sample-customer',
      event_type: eventType,
      timestamp: at,
      properties,
    };
  });
}

/** A decimal string of the kernel (9 decimals at most) as nano-units, exact. */
export function toNano(amount: string): bigint {
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = amount.replace(/^[-+]/, '').split('.');
  const nano = BigInt(whole || '0') * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  return negative ? -nano : nano;
}

export function fromNano(nano: bigint): string {
  const negative = nano < 0n;
  const magnitude = negative ? -nano : nano;
  const fraction = (magnitude % 1_000_000_000n).toString().padStart(9, '0');
  return `${negative ? '-' : ''}${magnitude / 1_000_000_000n}.${fraction}`;
}
