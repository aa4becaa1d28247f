import { describe, expect, it } from 'vitest';
import { canonicalParams, decodeForm } from './form.ts';

describe('decodeForm', () => {
  it.each([
    [
      'flat values, + and percent escapes',
      'amount=2000&currency=usd&description=GPU+hours%20%26%20tokens',
      { amount: '2000', currency: 'usd', description: 'GPU hours & tokens' },
    ],
    [
      'nested keys',
      'metadata[invoice]=inv_1&customer_details[address][country]=US',
      { metadata: { invoice: 'inv_1' }, customer_details: { address: { country: 'US' } } },
    ],
    ['indexed arrays, in index order', 'expand[1]=b&expand[0]=a', { expand: ['a', 'b'] }],
    [
      'arrays of objects',
      'line_items[0][amount]=100&line_items[0][reference]=x&line_items[1][amount]=5',
      { line_items: [{ amount: '100', reference: 'x' }, { amount: '5' }] },
    ],
    [
      'empty brackets append',
      'payment_method_types[]=card&payment_method_types[]=link',
      { payment_method_types: ['card', 'link'] },
    ],
    ['an empty value (unset)', 'metadata[tier]=&name=', { metadata: { tier: '' }, name: '' }],
    ['percent-encoded brackets', 'metadata%5Binvoice%5D=inv_2', { metadata: { invoice: 'inv_2' } }],
    ['nothing', '', {}],
  ])('%s', (_, body, expected) => {
    expect(decodeForm(body)).toEqual(expected);
  });
});

describe('canonicalParams', () => {
  it('is the same for the same params in another order, and differs when a value differs', () => {
    expect(canonicalParams(decodeForm('a=1&b[x]=2&b[y]=3'))).toBe(canonicalParams(decodeForm('b[y]=3&a=1&b[x]=2')));
    expect(canonicalParams(decodeForm('a=1&b[x]=2'))).not.toBe(canonicalParams(decodeForm('a=1&b[x]=3')));
    expect(canonicalParams(decodeForm('list[0]=a&list[1]=b'))).not.toBe(
      canonicalParams(decodeForm('list[0]=b&list[1]=a')),
    );
  });
});
