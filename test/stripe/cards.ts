// Stripe's test PaymentMethods (https://docs.stripe.com/testing#cards, "PaymentMethods" tab) and what each does when
// charged. A request naming one (`payment_method=pm_card_visa`) gets a fresh `pm_...` cloned from it, as on Stripe.

export interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

export interface TestCard {
  brand: string;
  last4: string;
  funding: 'credit' | 'debit';
  /** What a charge does: succeed, decline, or ask for authentication (3-D Secure). */
  charge: 'succeed' | Decline | 'authenticate';
  /** Whether saving it (SetupIntent, Checkout in setup mode) asks for authentication. */
  authenticateOnSetup: boolean;
  /** Whether a successful charge is disputed at once (Stripe's 4000000000000259). */
  disputed: boolean;
}

const GENERIC_DECLINE: Decline = {
  code: 'card_declined',
  declineCode: 'generic_decline',
  message: 'Your card was declined.',
};
const INSUFFICIENT_FUNDS: Decline = {
  code: 'card_declined',
  declineCode: 'insufficient_funds',
  message: 'Your card has insufficient funds.',
};

function card(brand: string, last4: string, charge: TestCard['charge'], extra: Partial<TestCard> = {}): TestCard {
  return { brand, last4, funding: 'credit', charge, authenticateOnSetup: false, disputed: false, ...extra };
}

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: card('visa', '4242', 'succeed'),
  pm_card_visa_debit: card('visa', '5556', 'succeed', { funding: 'debit' }),
  pm_card_mastercard: card('mastercard', '4444', 'succeed'),
  pm_card_amex: card('amex', '8431', 'succeed'),
  pm_card_chargeDeclined: card('visa', '0002', GENERIC_DECLINE),
  // Saving works, charging fails: what dunning meets in practice.
  pm_card_chargeCustomerFail: card('visa', '0341', GENERIC_DECLINE),
  pm_card_chargeDeclinedInsufficientFunds: card('visa', '9995', INSUFFICIENT_FUNDS),
  pm_card_insufficientFunds: card('visa', '9995', INSUFFICIENT_FUNDS),
  pm_card_chargeDeclinedLostCard: card('visa', '9987', {
    code: 'card_declined',
    declineCode: 'lost_card',
    message: 'Your card was declined.',
  }),
  pm_card_chargeDeclinedExpiredCard: card('visa', '0069', {
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
  }),
  pm_card_chargeDeclinedProcessingError: card('visa', '0119', {
    code: 'processing_error',
    declineCode: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  }),
  // Authenticates once when saved, then off-session charges ask again (Stripe's 4000002760003184).
  pm_card_authenticationRequired: card('visa', '3184', 'authenticate', { authenticateOnSetup: true }),
  // Authenticates when saved; later off-session charges succeed (4000002500003155).
  pm_card_authenticationRequiredOnSetup: card('visa', '3155', 'succeed', { authenticateOnSetup: true }),
  pm_card_threeDSecure2Required: card('visa', '3220', 'authenticate', { authenticateOnSetup: true }),
  pm_card_createDispute: card('visa', '0259', 'succeed', { disputed: true }),
};

export function isTestCardName(name: string): boolean {
  return Object.hasOwn(TEST_CARDS, name);
}

/**
 * Stripe's test card numbers (https://docs.stripe.com/testing#cards) as typed on the hosted Checkout page, each
 * the test PaymentMethod it stands for (the same last four digits).
 */
export const TEST_CARD_NUMBERS: Record<string, string> = {
  '4242424242424242': 'pm_card_visa',
  '4000056655665556': 'pm_card_visa_debit',
  '5555555555554444': 'pm_card_mastercard',
  '371449635398431': 'pm_card_amex',
  '4000000000000002': 'pm_card_chargeDeclined',
  '4000000000000341': 'pm_card_chargeCustomerFail',
  '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
  '4000000000009987': 'pm_card_chargeDeclinedLostCard',
  '4000000000000069': 'pm_card_chargeDeclinedExpiredCard',
  '4000000000000119': 'pm_card_chargeDeclinedProcessingError',
  '4000002760003184': 'pm_card_authenticationRequired',
  '4000002500003155': 'pm_card_authenticationRequiredOnSetup',
  '4000000000003220': 'pm_card_threeDSecure2Required',
  '4000000000000259': 'pm_card_createDispute',
};
