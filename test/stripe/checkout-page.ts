// The hosted Checkout page (setup mode) a customer's browser reaches by the session's `url`: a card form that saves
// one of Stripe's test cards, as Stripe's own page would, and sends the customer on to the session's success URL.
import { TEST_CARD_NUMBERS } from './cards.ts';
import type { FormParams } from './form.ts';
import type { StripeObject } from './store.ts';

export type CardEntry = { ok: true; paymentMethod: string } | { ok: false; field: string; message: string };

/**
 * What the customer typed: a test card number with an expiry not yet past and a CVC (or, as scripts post it, a
 * test PaymentMethod's name in `payment_method`).
 */
export function readCardEntry(form: FormParams, nowSeconds: number): CardEntry {
  if (typeof form.payment_method === 'string' && form.card_number === undefined)
    return { ok: true, paymentMethod: form.payment_method || 'pm_card_visa' };
  const number = String(form.card_number ?? '').replace(/[\s-]/g, '');
  const paymentMethod = TEST_CARD_NUMBERS[number];
  if (!paymentMethod)
    return {
      ok: false,
      field: 'card_number',
      message: "Your card number is invalid (use one of Stripe's test cards).",
    };
  const expiry = /^(\d{2})\s*\/\s*(\d{2})$/.exec(String(form.expiry ?? '').trim());
  const month = Number(expiry?.[1]);
  if (!expiry || month < 1 || month > 12)
    return { ok: false, field: 'expiry', message: "Your card's expiration date is incomplete (MM / YY)." };
  const now = new Date(nowSeconds * 1000);
  const [year, thisYear] = [2000 + Number(expiry[2]), now.getUTCFullYear()];
  if (year < thisYear || (year === thisYear && month < now.getUTCMonth() + 1))
    return { ok: false, field: 'expiry', message: "Your card's expiration date is in the past." };
  if (!/^\d{3,4}$/.test(String(form.cvc ?? '').trim()))
    return { ok: false, field: 'cvc', message: "Your card's security code is incomplete." };
  return { ok: true, paymentMethod };
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page: the card form while the session is open, its state otherwise; a refused entry's reason at its field. */
export function checkoutPageHtml(session: StripeObject, action: string, refused?: { field: string; message: string }) {
  const field = (name: string, label: string, attributes: string) => {
    const error = refused?.field === name;
    return (
      `<p><label for="${name}">${label}</label><br><input id="${name}" name="${name}" ${attributes}` +
      (error ? ` aria-invalid="true" aria-describedby="${name}-error"` : '') +
      '>' +
      (error ? `<br><strong id="${name}-error" role="alert">${escape(refused.message)}</strong>` : '') +
      '</p>'
    );
  };
  const body =
    session.status === 'open'
      ? `<form method="post" action="${escape(action)}">` +
        field('card_number', 'Card number', 'inputmode="numeric" autocomplete="cc-number" required') +
        field('expiry', 'Expiration (MM / YY)', 'autocomplete="cc-exp" placeholder="MM / YY" required') +
        field('cvc', 'CVC', 'inputmode="numeric" autocomplete="cc-csc" required') +
        field('name', 'Name on card', 'autocomplete="cc-name"') +
        '<button type="submit">Save card</button></form>'
      : `<p>This Checkout Session is ${escape(String(session.status))}.</p>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Save a card · Stripe double Checkout</title>' +
    '<style>body{font-family:system-ui,sans-serif;color:#1a1d23;max-width:26rem;margin:3rem auto}' +
    'input{font-size:1rem;padding:.4rem;width:100%}button{font-size:1rem;padding:.5rem 1rem;background:#1f4fd1;' +
    'color:#fff;border:0;border-radius:4px}strong{color:#a4161a}</style></head>' +
    `<body><main><h1>Save a card</h1><p>Session <code>${escape(String(session.id))}</code></p>${body}</main></body></html>`
  );
}
