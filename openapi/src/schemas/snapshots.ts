import { z } from 'zod';
import { externalId } from './customers.ts';

export const customerPath = z.strictObject({ id: externalId });
